/**
 * The layering of Adapter Lab, checked by `npm test` (scripts/layers.mjs runs depcruise).
 * docs/architecture.md draws the same picture; change both together.
 *
 * engine/: each folder may import its own layer and the layers below it, never above.
 * Folders on one line are one layer and may import each other, but no import circle is
 * allowed anywhere.
 */
const ENGINE_LAYERS = [
  ['util', 'tensor', 'events', 'version'], // foundations: no engine imports
  ['graph', 'tokenizer', 'metrics'], // ONNX IR and ops; text to ids; scores
  ['model'], // BERT as a graph: encoder, adapters, names, shapes, parameter counts
  ['config'], // the experiment language (what server/ is built on)
  ['data', 'runtime', 'runs', 'cluster'], // task files; onnxruntime sessions; the run store; Slurm's commands
  ['checkpoint'], // formats on disk: safetensors, Hugging Face folders, AdapterHub folders
  ['tasks'], // one module per task kind: examples, batches, head, loss, predictions, metrics
  ['train'], // the training core: plan, training graph, trainer and its process
  ['jobs'], // one module per job built on the core: train, sweep, ablate, evaluate, …
  ['cli'], // adapter-lab: one module per command group
];

/** `engine/x` and `engine/x.ts` both name folder or file x. */
const pathOf = (names) => `^engine/(${names.join('|')})(/|\\.ts$)`;

const layerRules = ENGINE_LAYERS.flatMap((layer, rank) => {
  const above = ENGINE_LAYERS.slice(rank + 1).flat();
  if (above.length === 0) return [];
  return [
    {
      name: `engine-layer-${layer.join('-')}`,
      comment: `${layer.join(', ')} may not import a higher layer (${above.join(', ')})`,
      severity: 'error',
      from: { path: pathOf(layer) },
      to: { path: pathOf(above) },
    },
  ];
});

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      comment: 'Import circles tie modules together so that neither can be read, tested or moved alone.',
      severity: 'error',
      from: { path: '^(engine|server|client)/' },
      to: { circular: true },
    },
    ...layerRules,
    {
      name: 'engine-knows-no-editor',
      comment: 'The engine runs headless (CLI, cluster nodes): it never imports vscode, the extension or the language server.',
      severity: 'error',
      from: { path: '^engine/' },
      to: { path: '^(client|server)/|^vscode$', dependencyTypes: ['local', 'npm', 'core', 'unknown', 'undetermined', 'npm-no-pkg'] },
    },
    {
      name: 'server-on-engine-config',
      comment: 'The language server is a thin LSP layer over engine/config (and the parameter counts it reports); it never runs jobs.',
      severity: 'error',
      from: { path: '^server/' },
      to: { path: '^engine/', pathNot: '^engine/(config/|model/(dims|parameters)\\.ts$)' },
    },
    {
      name: 'client-runs-engine-as-process',
      comment: 'The extension runs the engine as a child process; it reads only the language, the event contract and the run store.',
      severity: 'error',
      from: { path: '^client/' },
      to: { path: '^engine/', pathNot: '^engine/(config/|events\\.ts$|runs/(catalog|replay|store)\\.ts$|model/(dims|builtin)\\.ts$)' },
    },
    {
      name: 'webview-is-a-browser-page',
      comment: 'The panels\' page runs in a webview: no node modules, and nothing of the engine or the extension host but their types (the event and message contracts).',
      severity: 'error',
      from: { path: '^client/webview/' },
      to: { path: '^(engine|server|client/src)/|^vscode$', dependencyTypesNot: ['type-only'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|dist|out)/' },
    tsConfig: { fileName: 'tsconfig.json' },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: { extensions: ['.ts', '.js', '.json'] },
  },
};
