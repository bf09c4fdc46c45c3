/**
 * Pass two: rules that need more than one key, the model's config.json or the data
 * files. Each rule reports on the exact node a user would change.
 */
import * as path from 'node:path';
import type { BertDims } from '../model/dims';
import { inputWords } from '../model/fusion';
import { resolveFusedAdapter, type FusedAdapterInfo } from './fusionRefs';
import { DEFAULT_RUNS_FOLDER } from './runsFolder';
import type { Experiment } from './experiment';
import { finding, type Finding, type Fix, type TextRange } from './findings';
import { layersOf, parseLayerSelection, type LayerPart } from './layers';
import type { DataInfo, ModelInfo, ProjectFiles } from './projectFiles';
import { METRICS_BY_KIND } from './schema';
import { replaceFix } from './schemaCheck';
import { closest } from './suggest';
import { entryOf, nodeAt, type MapEntry, type TreeNode } from './tree';

export interface RuleInput {
  readonly root: TreeNode;
  readonly text: string;
  readonly experiment: Experiment;
  readonly files: ProjectFiles;
  /** False for an unsaved document: relative paths cannot be checked. */
  readonly onDisk: boolean;
  /** Where `fusion.adapters` looks up experiment names; undefined: the default beside the file. */
  readonly runsDir?: string;
  /** The experiment file's folder (relative references resolve against it). */
  readonly baseDir?: string;
}

export interface RuleOutput {
  readonly findings: Finding[];
  readonly model: ModelInfo | undefined;
  /** The fused adapters that resolved (`method: fusion`), in the file's order. */
  readonly fused: readonly FusedAdapterInfo[];
}

export function checkRules(input: RuleInput): RuleOutput {
  const out: Finding[] = [];
  checkTaskShape(input, out);
  checkMethodKeys(input, out);
  checkNeedsValidation(input, out);
  checkSlurm(input, out);
  const model = checkModel(input, out);
  if (input.onDisk) checkData(input, out);
  if (model?.ok) {
    checkAgainstModel(input, model.dims, out);
    checkDrop(input, model.dims, out);
  }
  const fused = checkFusion(input, model?.ok ? model.dims : undefined, out);
  return { findings: out, model, fused };
}

/**
 * `method: fusion`: a `fusion` block with at least two adapters, each found, trained on a
 * model of this one's shape, with the same sites as the others and a name of its own.
 */
function checkFusion(input: RuleInput, dims: BertDims | undefined, out: Finding[]): FusedAdapterInfo[] {
  const { root, experiment, files } = input;
  const methods = effectiveStrings(root, 'method', experiment.method);
  const block = entryOf(root, 'fusion');
  if (block && !methods.has('fusion')) out.push(finding('irrelevant-key', `\`fusion\` settings are ignored with \`method: ${experiment.method}\`; they apply to \`method: fusion\``, block.keyRange));
  if (!methods.has('fusion')) return [];
  if (!block) {
    out.push(finding('requires-key', '`method: fusion` needs a `fusion` block with `adapters`: the trained adapters to fuse', entryOf(root, 'method')?.value.range ?? { start: 0, end: 0 }));
    return [];
  }
  const list = nodeAt(root, ['fusion', 'adapters']);
  if (!list || list.kind !== 'seq') return []; // the schema reports a missing or malformed list
  const items = list.items.filter((n): n is TreeNode & { kind: 'scalar' } => n.kind === 'scalar' && (typeof n.value === 'string' || typeof n.value === 'number'));
  if (new Set(items.map((n) => String(n.value))).size < 2) out.push(finding('too-few-adapters', 'A fusion combines at least two adapters: add another to `fusion.adapters`', list.range));
  if (!input.onDisk) return [];
  const baseDir = input.baseDir ?? process.cwd();
  const runsDir = input.runsDir ?? path.join(baseDir, DEFAULT_RUNS_FOLDER);
  const fused: FusedAdapterInfo[] = [];
  const byName = new Map<string, string>();
  for (const node of items) {
    const ref = String(node.value);
    const r = resolveFusedAdapter(ref, baseDir, runsDir);
    if (!r.ok) {
      out.push(finding(r.code, r.message, node.range));
      continue;
    }
    const a = r.info;
    const mismatch = fusedMismatch(a, experiment.model, dims, files, fused[0]);
    if (mismatch) {
      out.push(finding('adapter-mismatch', `${ref}: ${mismatch}`, node.range));
      continue;
    }
    const seen = byName.get(a.name);
    if (seen !== undefined) {
      out.push(finding('adapter-mismatch', `${ref}: its adapter is named "${a.name}", as ${seen} is; fused adapters need distinct names (AdapterHub keys them by name)`, node.range));
      continue;
    }
    byName.set(a.name, ref);
    fused.push(a);
  }
  return fused;
}

/** Why an adapter cannot join this fusion, or undefined when it can. */
function fusedMismatch(a: FusedAdapterInfo, modelRef: string, dims: BertDims | undefined, files: ProjectFiles, first: FusedAdapterInfo | undefined): string | undefined {
  if (a.method !== undefined && a.method !== 'adapter') return `its run trained with \`method: ${a.method}\`, which saves no adapters`;
  if (a.sites.length === 0) return 'it has no adapters (neither mh_adapter nor output_adapter)';
  if (dims && a.hiddenSize !== dims.hiddenSize) return `it was trained on a model of hidden size ${a.hiddenSize}; this model's is ${dims.hiddenSize}`;
  if (dims && a.leaveOut.some((l) => l >= dims.layers)) return `it leaves out layer ${Math.max(...a.leaveOut)}, but this model has layers 0..${dims.layers - 1}`;
  if (dims && a.modelRef !== undefined && a.modelRef !== modelRef) {
    const other = files.model(a.modelRef);
    if (other.ok) {
      const o = other.dims;
      for (const [what, x, y] of [['layers', o.layers, dims.layers], ['hidden size', o.hiddenSize, dims.hiddenSize], ['vocabulary size', o.vocabSize, dims.vocabSize]] as const) {
        if (x !== y) return `it was trained on ${a.modelRef}, whose ${what} is ${x}; this model's is ${y}`;
      }
    }
  }
  const ours = a.vocabulary !== undefined ? files.vocabularyChecksum(modelRef) : undefined;
  if (ours !== undefined && a.vocabulary !== ours) return `it was trained with another vocabulary (checksum ${a.vocabulary}; this model's is ${ours}): its token ids would mean other words here`;
  if (first && [...a.sites].sort().join() !== [...first.sites].sort().join()) return `its sites are [${a.sites.join(', ')}], but ${first.name}'s are [${first.sites.join(', ')}]: fused adapters need the same sites`;
  if (a.placement === 'parallel') return "it holds parallel adapters (is_parallel: true); a fusion fuses serial adapters, in Houlsby's placement or Pfeiffer's";
  if (first && a.input !== first.input) return `it reads ${inputWords(a.input)}, but ${first.name} reads ${inputWords(first.input)}: fused adapters need one placement`;
  return undefined;
}

/** Values a setting takes across the base file and the sweep grid. */
function gridValues(root: TreeNode, dotted: string): TreeNode[] {
  const axis = entryOf(nodeAt(root, ['sweep', 'grid']), dotted)?.value;
  return axis?.kind === 'seq' ? [...axis.items] : [];
}

function effectiveStrings(root: TreeNode, dotted: string, base: string): Set<string> {
  const set = new Set([base]);
  for (const n of gridValues(root, dotted)) if (n.kind === 'scalar' && typeof n.value === 'string') set.add(n.value);
  return set;
}

function checkTaskShape({ root, experiment }: RuleInput, out: Finding[]): void {
  const task = entryOf(root, 'task');
  if (!task || task.value.kind !== 'map') return;
  const kind = experiment.task.kind;
  const metric = entryOf(task.value, 'metric');
  if (metric && metric.value.kind === 'scalar' && typeof metric.value.value === 'string') {
    const allowed = METRICS_BY_KIND[kind];
    if (!(allowed as readonly string[]).includes(metric.value.value) && (Object.values(METRICS_BY_KIND).flat() as string[]).includes(metric.value.value)) {
      out.push(finding('metric-mismatch', `Metric "${metric.value.value}" does not fit a ${kind} task; use ${allowed.map((m) => `\`${m}\``).join(', ')}`, metric.value.range, allowed.map((m) => ({ ...replaceFix(metric.value.range, m), preferred: m === allowed[0] }))));
    }
  }
  const mlmKeys = ['mask_probability', 'whole_word_mask', 'validation_fraction'] as const;
  if (kind !== 'mlm') {
    for (const key of mlmKeys) {
      const e = entryOf(task.value, key);
      if (e) out.push(finding('irrelevant-key', `\`task.${key}\` applies to masked-LM tasks (\`task.kind: mlm\`) only`, e.keyRange));
    }
  }
  if (kind === 'mlm') {
    const label = entryOf(task.value, 'label');
    if (label) out.push(finding('irrelevant-key', '`task.label` is not used by masked-LM tasks: the labels are the masked tokens themselves', label.keyRange));
    // A table names its text column; a .txt file is the text itself.
    if (!/\.txt$/i.test(experiment.task.train) && !entryOf(task.value, 'text')) out.push(finding('requires-key', 'A masked-LM task on a table needs `task.text`: the column that holds the text (or use a .txt file, one document per line)', task.keyRange));
    const fraction = entryOf(task.value, 'validation_fraction');
    if (fraction && entryOf(task.value, 'validation')) out.push(finding('irrelevant-key', '`task.validation_fraction` has no effect: `task.validation` gives the validation text', fraction.keyRange));
  } else if (kind === 'span') {
    for (const key of ['text', 'label'] as const) {
      const e = entryOf(task.value, key);
      if (e) out.push(finding('irrelevant-key', `\`task.${key}\` is not used by span tasks: SQuAD files name their own fields`, e.keyRange));
    }
  } else {
    for (const key of ['text', 'label'] as const) {
      if (!entryOf(task.value, key)) out.push(finding('requires-key', `A ${kind} task needs \`task.${key}\`: the ${key === 'text' ? 'text column (or two for pairs)' : 'label column'}`, task.keyRange));
    }
  }
}

function checkMethodKeys({ root, text, experiment }: RuleInput, out: Finding[]): void {
  const methods = effectiveStrings(root, 'method', experiment.method);
  const methodEntry = entryOf(root, 'method');
  const topK = entryOf(root, 'top_k');
  const gridHasTopK = gridValues(root, 'top_k').length > 0;
  if (topK && !methods.has('top_k')) {
    out.push(finding('irrelevant-key', '`top_k` has no effect unless `method: top_k`', topK.keyRange, [removeEntryFix(topK, text, 'Remove `top_k`')]));
  }
  if (methods.has('top_k') && !topK && !gridHasTopK) {
    out.push(finding('requires-key', '`method: top_k` needs `top_k`: the number of top layers to fine-tune', methodEntry?.value.range ?? { start: 0, end: 0 }));
  }
  for (const key of ['adapter', 'drop'] as const) {
    const e = entryOf(root, key);
    // AdapterDrop applies to a fusion too: a dropped layer loses its fusion layers and the adapters they fuse.
    if (e && !methods.has('adapter') && !(key === 'drop' && methods.has('fusion'))) {
      out.push(finding('irrelevant-key', `\`${key}\` settings are ignored with \`method: ${experiment.method}\`; they apply to \`method: adapter\``, e.keyRange));
    }
  }
  // A parallel adapter reads the sub-layer's input: what a serial one reads does not apply.
  const adapterMap = entryOf(root, 'adapter')?.value;
  const input = adapterMap?.kind === 'map' ? entryOf(adapterMap, 'input') : undefined;
  const placements = effectiveStrings(root, 'adapter.placement', experiment.adapter.placement);
  if (input && !placements.has('serial')) {
    out.push(finding('irrelevant-key', "`adapter.input` has no effect with `placement: parallel`: a parallel adapter reads the sub-layer's input", input.keyRange, [removeEntryFix(input, text, 'Remove `adapter.input`')]));
  }
  // Full fine-tuning and layer-norm tuning train the embeddings: nothing below them is frozen.
  const training = entryOf(root, 'training');
  const cache = training?.value.kind === 'map' ? entryOf(training.value, 'prefix_cache') : undefined;
  if (experiment.training.prefixCache.enabled && cache && ![...methods].some((m) => m === 'adapter' || m === 'top_k' || m === 'fusion')) {
    out.push(finding('irrelevant-key', `\`training.prefix_cache\` has no effect with \`method: ${experiment.method}\`: it trains the embeddings, so no layer below the trained ones is frozen`, cache.keyRange));
  }
}

function checkNeedsValidation({ root, experiment }: RuleInput, out: Finding[]): void {
  if (experiment.task.validation !== undefined) return;
  for (const key of ['sweep', 'ablation'] as const) {
    const e = entryOf(root, key);
    if (e) out.push(finding('requires-key', `\`${key}\` evaluates on validation data: add \`task.validation\``, e.keyRange));
  }
}

/** Options of `sweep.slurm.options` that Adapter Lab writes itself: one trial per array task, logs in the sweep folder. */
const RESERVED_SBATCH_OPTIONS: Readonly<Record<string, string>> = {
  '--array': 'the array is one task per trial, submitted by Adapter Lab',
  '-a': 'the array is one task per trial, submitted by Adapter Lab',
  '--output': "each trial's log goes to the sweep folder's slurm/logs",
  '-o': "each trial's log goes to the sweep folder's slurm/logs",
  '--error': "each trial's log goes to the sweep folder's slurm/logs",
  '-e': "each trial's log goes to the sweep folder's slurm/logs",
  '--chdir': 'trials run in the sweep folder',
  '-D': 'trials run in the sweep folder',
  '--wrap': 'the script is generated by Adapter Lab',
  '--parsable': 'Adapter Lab reads the job id itself',
};

/** `sweep.slurm`: extra sbatch options, threads against the CPUs each trial gets, GPUs nobody uses. */
function checkSlurm({ root, experiment }: RuleInput, out: Finding[]): void {
  const slurm = experiment.sweep?.slurm;
  if (!slurm || !nodeAt(root, ['sweep', 'slurm'])) return;
  const options = nodeAt(root, ['sweep', 'slurm', 'options']);
  if (options?.kind === 'seq') {
    for (const item of options.items) {
      if (item.kind !== 'scalar' || typeof item.value !== 'string') continue;
      const option = item.value.trim();
      const name = option.split(/[=\s]/, 1)[0]!;
      if (!option.startsWith('-')) out.push(finding('bad-format', `"${option}" is not an sbatch option: write it as on the command line, such as \`--${option}\``, item.range, /^[a-z][a-z-]*(=|$)/.test(option) ? [replaceFix(item.range, `--${option}`)] : undefined));
      else if (RESERVED_SBATCH_OPTIONS[name]) out.push(finding('bad-format', `\`${name}\` is set by Adapter Lab (${RESERVED_SBATCH_OPTIONS[name]}); leave it out`, item.range));
    }
  }
  const cpusNode = nodeAt(root, ['sweep', 'slurm', 'cpus_per_task']);
  const threads = experiment.runtime.threads;
  if (cpusNode?.kind === 'scalar' && slurm.cpusPerTask !== undefined && threads !== undefined && threads > slurm.cpusPerTask) {
    out.push(finding('threads-exceed-cpus', `Each trial runs ${threads} threads (\`runtime.threads\`) on ${slurm.cpusPerTask} CPU${slurm.cpusPerTask === 1 ? '' : 's'}: Slurm gives a trial only its \`cpus_per_task\`, so the threads contend for them; set cpus_per_task to ${threads} or lower runtime.threads`, cpusNode.range, [replaceFix(cpusNode.range, String(threads), `Set cpus_per_task to ${threads}`)]));
  }
  const gpusNode = nodeAt(root, ['sweep', 'slurm', 'gpus']);
  const noGpus = slurm.gpus === undefined || slurm.gpus === '0';
  if (gpusNode && !noGpus && (experiment.runtime.device === 'cpu' || experiment.runtime.device === 'webgpu')) {
    out.push(finding('irrelevant-key', `\`sweep.slurm.gpus\` asks for GPUs the trials do not use: \`runtime.device\` is ${experiment.runtime.device}; use \`cuda\` or \`auto\``, gpusNode.range));
  }
}

function checkModel(input: RuleInput, out: Finding[]): ModelInfo | undefined {
  const { root, experiment, files, onDisk } = input;
  const entry = entryOf(root, 'model');
  const scratch = entryOf(root, 'from_scratch');
  if (entry && scratch) out.push(finding('irrelevant-key', '`from_scratch` is ignored: `model` names the model to start from (remove one of them)', scratch.keyRange));
  if (!entry && !scratch) return undefined; // the schema reports the missing `model`
  if (!entry && scratch) return checkScratch(input, scratch.value, out);
  if (!entry || entry.value.kind !== 'scalar' || typeof entry.value.value !== 'string') return undefined;
  if (!onDisk && !experiment.model.startsWith('builtin:')) return undefined;
  const info = files.model(experiment.model);
  if (!info.ok) out.push(finding(info.code, info.message, entry.value.range));
  return info;
}

/** A model declared in the file: its shape, its vocabulary, and the dims the other rules check against. */
function checkScratch({ experiment, files, onDisk }: RuleInput, node: TreeNode, out: Finding[]): ModelInfo | undefined {
  const s = experiment.fromScratch;
  if (!s || node.kind !== 'map') return undefined;
  let ok = true;
  if (s.hiddenSize % s.heads !== 0) {
    ok = false;
    const heads = entryOf(node, 'heads');
    out.push(finding('out-of-bounds', `hidden_size ${s.hiddenSize} is not a multiple of heads ${s.heads}: each head gets hidden_size / heads features`, (heads ?? entryOf(node, 'hidden_size'))?.value.range ?? node.range));
  }
  if (!onDisk) return undefined;
  const vocabEntry = entryOf(node, 'vocab');
  const vocab = files.vocab(s.vocab);
  if (!vocab.ok) {
    out.push(finding('missing-file', vocab.message, vocabEntry?.value.range ?? node.range));
    return undefined;
  }
  if (vocab.missing.length > 0) {
    out.push(finding('bad-model', `The vocabulary lacks ${vocab.missing.join(', ')}: a masked-language model needs [PAD], [UNK], [CLS], [SEP] and [MASK]`, vocabEntry?.value.range ?? node.range));
    ok = false;
  }
  if (!ok) return undefined;
  // A model from scratch is initialised without a pooler (model/init.ts), like the generated built-ins.
  return { ok: true, source: 'scratch', name: experiment.name, hasPooler: false, dims: { hiddenSize: s.hiddenSize, layers: s.layers, heads: s.heads, intermediateSize: s.intermediateSize, vocabSize: vocab.size, maxPositions: s.maxPositions, typeVocabSize: 2 } };
}

function checkData({ root, experiment, files }: RuleInput, out: Finding[]): void {
  const task = entryOf(root, 'task')?.value;
  if (!task) return;
  const span = experiment.task.kind === 'span';
  const infos: { file: string; info: DataInfo; label: string }[] = [];
  for (const [key, file] of [['train', experiment.task.train], ['validation', experiment.task.validation]] as const) {
    const e = entryOf(task, key);
    if (!e || file === undefined || e.value.kind !== 'scalar' || typeof e.value.value !== 'string') continue;
    const info = files.dataFile(file);
    if (!info.ok) {
      out.push(finding(info.code, info.message, e.value.range));
      continue;
    }
    const mlm = experiment.task.kind === 'mlm';
    if (mlm ? info.format === 'squad' : span !== (info.format === 'squad') || info.format === 'text') {
      const message = span
        ? 'A span task reads SQuAD v1.1 .json files'
        : mlm
          ? 'A masked-LM task reads .txt files (one document per line) or a text column of .tsv, .csv or .jsonl'
          : info.format === 'text'
            ? `Unsupported data format ".txt" for a ${experiment.task.kind} task: use .tsv, .csv or .jsonl (.txt is running text, for \`task.kind: mlm\`)`
            : `A ${experiment.task.kind} task reads .tsv, .csv or .jsonl files (.json is for span tasks)`;
      out.push(finding('bad-data', message, e.value.range));
      continue;
    }
    infos.push({ file, info, label: key });
  }
  if (span) return;
  out.push(...checkBinaryMetric(task, experiment, files, infos.find((i) => i.label === 'train')?.file));
  const columnNodes: TreeNode[] = [];
  const text = entryOf(task, 'text')?.value;
  if (text?.kind === 'scalar') columnNodes.push(text);
  if (text?.kind === 'seq') columnNodes.push(...text.items);
  const label = entryOf(task, 'label')?.value;
  if (label?.kind === 'scalar') columnNodes.push(label);
  for (const node of columnNodes) {
    if (node.kind !== 'scalar' || node.value === null) continue;
    const column = String(node.value);
    for (const { info, label: which } of infos) {
      if (!info.ok || !info.columns || info.columns.includes(column)) continue;
      const suggestion = closest(column, info.columns);
      out.push(
        finding(
          'unknown-column',
          `Column "${column}" is not in the ${which} file; its columns are ${info.columns.map((c) => `"${c}"`).join(', ')}${suggestion ? `; did you mean "${suggestion}"?` : ''}`,
          node.range,
          suggestion ? [replaceFix(node.range, suggestion)] : undefined,
        ),
      );
      break;
    }
  }
}

/** `metric: f1` is binary F1 of class 1; a training file with more classes needs another metric. */
function checkBinaryMetric(task: TreeNode, experiment: Experiment, files: ProjectFiles, train: string | undefined): Finding[] {
  const out: Finding[] = [];
  const metric = entryOf(task, 'metric')?.value;
  if (!train || experiment.task.kind !== 'classification' || experiment.task.metric !== 'f1' || !experiment.task.label || metric?.kind !== 'scalar') return out;
  const labels = files.labelValues(train, experiment.task.label);
  if (labels && labels.length > 2) {
    out.push(finding('metric-mismatch', `Metric "f1" is the binary F1 of class 1, but the training file has ${labels.length} classes; use \`accuracy\` or \`mcc\``, metric.range, [{ ...replaceFix(metric.range, 'accuracy'), preferred: true }, replaceFix(metric.range, 'mcc')]));
  }
  return out;
}

/** Checks of single values against the model's shape, applied to a setting and to each of its grid values. */
const MODEL_VALUE_CHECKS: Readonly<Record<string, (node: TreeNode, dims: BertDims, out: Finding[]) => void>> = {
  'adapter.size': (node, dims, out) => {
    if (node.kind === 'scalar' && typeof node.value === 'number' && node.value >= dims.hiddenSize) {
      out.push(finding('not-bottleneck', `Adapter size ${node.value} is not a bottleneck: the model's hidden size is ${dims.hiddenSize}; adapters are meant to be much smaller (Houlsby et al. use 8 to 256 on d = 768)`, node.range));
    }
  },
  'adapter.layers': (node, dims, out) => checkLayerBounds(node, ['all'], dims, out),
  'drop.layers': (node, dims, out) => checkLayerBounds(node, ['none'], dims, out),
  top_k: (node, dims, out) => {
    if (node.kind === 'scalar' && typeof node.value === 'number' && node.value > dims.layers) {
      out.push(finding('top-k-too-large', `top_k is ${node.value} but the model has ${dims.layers} layers`, node.range, [replaceFix(node.range, String(dims.layers), `Set top_k to ${dims.layers}`)]));
    }
  },
  'task.max_length': (node, dims, out) => {
    if (node.kind === 'scalar' && typeof node.value === 'number' && node.value > dims.maxPositions) {
      out.push(finding('max-length-too-large', `max_length ${node.value} exceeds the model's ${dims.maxPositions} position embeddings`, node.range, [replaceFix(node.range, String(dims.maxPositions), `Set max_length to ${dims.maxPositions}`)]));
    }
  },
  'ablation.spans': (node, dims, out) => {
    if (node.kind === 'seq') for (const item of node.items) checkLayerBounds(item, [], dims, out);
  },
};

function checkAgainstModel({ root }: RuleInput, dims: BertDims, out: Finding[]): void {
  for (const [dotted, check] of Object.entries(MODEL_VALUE_CHECKS)) {
    const node = nodeAt(root, dotted.split('.'));
    if (node) check(node, dims, out);
    for (const value of gridValues(root, dotted)) check(value, dims, out);
  }
}

function checkLayerBounds(node: TreeNode, keywords: readonly string[], dims: BertDims, out: Finding[]): void {
  const parsed = parseLayerSelection(node, keywords);
  if (!parsed.ok || parsed.selection.kind !== 'layers') return;
  const last = dims.layers - 1;
  for (const part of parsed.selection.parts) {
    if (part.to <= last) continue;
    out.push(finding('layer-out-of-range', `${describePart(part)} is outside the model's layers 0..${last}`, part.range, clampFix(part, last)));
  }
}

function describePart(part: LayerPart): string {
  return part.from === part.to ? `Layer ${part.from}` : `Range ${part.from}..${part.to}`;
}

function clampFix(part: LayerPart, last: number): Fix[] {
  if (part.from > last) return [];
  const text = part.from === last ? String(last) : `${part.from}..${last}`;
  return [replaceFix(part.range, text, `Clamp to ${text}`)];
}

function checkDrop({ root, experiment }: RuleInput, dims: BertDims, out: Finding[]): void {
  const dropNode = nodeAt(root, ['drop', 'layers']);
  if (!dropNode || experiment.method !== 'adapter') return;
  const dropped = layersOf(experiment.drop.layers, dims.layers);
  if (dropped.length === 0) return;
  const adapterLayers = layersOf(experiment.adapter.layers, dims.layers);
  if (experiment.drop.mode === 'static' && adapterLayers.every((l) => dropped.includes(l))) {
    out.push(finding('no-trainable-adapter', `Dropping layers ${formatList(dropped)} leaves no adapter to train (adapters are in layers ${formatList(adapterLayers)})`, dropNode.range));
    return;
  }
  const lowestKept = adapterLayers.find((l) => !dropped.includes(l));
  const isLowest = dropped.every((l, i) => l === i);
  if (!isLowest && experiment.drop.mode === 'static' && lowestKept !== undefined && lowestKept < dropped[dropped.length - 1]!) {
    out.push(finding('drop-not-lowest', `Dropped layers ${formatList(dropped)} are not the lowest layers: backpropagation still reaches the adapter in layer ${lowestKept}, so AdapterDrop saves almost nothing; drop a range 0..n instead`, dropNode.range));
  } else if (!isLowest && experiment.drop.mode === 'robust') {
    out.push(finding('drop-not-lowest', `Robust AdapterDrop drops the lowest layers first; give a range that starts at layer 0, such as 0..${dropped[dropped.length - 1]}`, dropNode.range));
  }
}

function formatList(layers: readonly number[]): string {
  return layers.length > 8 ? `${layers[0]}..${layers[layers.length - 1]}` : layers.join(', ');
}

/** Removes an entry's lines (key, value and the line break after them). */
export function removeEntryFix(entry: MapEntry, text: string, title: string): Fix {
  let start = entry.keyRange.start;
  while (start > 0 && (text[start - 1] === ' ' || text[start - 1] === '\t')) start--;
  let end = Math.max(entry.keyRange.end, entry.value.range.end);
  while (end < text.length && text[end] !== '\n') end++;
  if (end < text.length) end++;
  const range: TextRange = { start, end };
  return { title, edits: [{ range, newText: '' }] };
}
