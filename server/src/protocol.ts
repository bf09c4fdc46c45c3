/**
 * The contract between the extension and the language server beyond standard LSP: the
 * command ids that code lenses carry (the extension implements them).
 */
export const Commands = {
  train: 'adapterLab.train',
  runSweep: 'adapterLab.runSweep',
  runAblation: 'adapterLab.runAblation',
} as const;

export type CommandId = (typeof Commands)[keyof typeof Commands];

/** The language id and file patterns of experiment files. */
export const LANGUAGE_ID = 'adapter-yaml';
export const FILE_GLOBS = ['**/*.adapter.yaml', '**/*.adapter.yml'] as const;
