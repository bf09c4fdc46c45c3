/**
 * Small workspaces for tests: a Hugging Face-style BERT folder (config.json, a weights
 * file, vocab.txt) and data files, in a fresh temporary folder.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { builtinSentiment } from '../../engine/model/builtin';

export interface BertConfig {
  hidden_size: number;
  num_hidden_layers: number;
  num_attention_heads?: number;
  intermediate_size?: number;
  vocab_size?: number;
  max_position_embeddings?: number;
  type_vocab_size?: number;
  model_type?: string;
  hidden_act?: string;
}

export const BERT_BASE: BertConfig = {
  hidden_size: 768,
  num_hidden_layers: 12,
  num_attention_heads: 12,
  intermediate_size: 3072,
  vocab_size: 30522,
  max_position_embeddings: 512,
  type_vocab_size: 2,
  model_type: 'bert',
};

export class Workspace {
  readonly root: string;

  constructor(prefix = 'adapter-lab-test-') {
    this.root = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  }

  path(...parts: string[]): string {
    return path.join(this.root, ...parts);
  }

  write(relative: string, content: string): string {
    const file = this.path(relative);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, content);
    return file;
  }

  /** A model folder as Hugging Face writes it; the weights file is a placeholder (validation does not read it). */
  model(relative: string, config: BertConfig = BERT_BASE): string {
    this.write(path.join(relative, 'config.json'), JSON.stringify(config, null, 2));
    this.write(path.join(relative, 'model.safetensors'), '');
    this.write(path.join(relative, 'vocab.txt'), '[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nthe\n');
    return this.path(relative);
  }

  /** A TSV with a header and rows. */
  tsv(relative: string, header: string[], rows: (string | number)[][]): string {
    return this.write(relative, [header.join('\t'), ...rows.map((r) => r.join('\t'))].join('\n') + '\n');
  }

  /** The built-in sentiment task as a TSV (columns sentence, label): `count` rows from `seed`. */
  sentiment(relative: string, count: number, seed: number): string {
    return this.tsv(relative, ['sentence', 'label'], builtinSentiment(count, seed).map((r) => [r.sentence, r.label]));
  }

  dispose(): void {
    fs.rmSync(this.root, { recursive: true, force: true });
  }
}

/** A standard workspace: BERT-base-shaped model folder and SST-2-like data. */
export function standardWorkspace(): Workspace {
  const ws = new Workspace();
  ws.model('models/bert');
  ws.tsv('data/train.tsv', ['sentence', 'label'], [['a fine film', 1], ['a dull film', 0], ['great', 1]]);
  ws.tsv('data/dev.tsv', ['sentence', 'label'], [['fine', 1], ['dull', 0]]);
  ws.tsv('data/pairs.tsv', ['sentence1', 'sentence2', 'label'], [['a', 'b', 'entailment'], ['c', 'd', 'neutral'], ['e', 'f', 'contradiction']]);
  ws.write('data/squad.json', JSON.stringify({ version: '1.1', data: [] }));
  return ws;
}

/** A valid experiment for the standard workspace; tests change one thing in it. */
export const VALID_EXPERIMENT = `name: sst2-adapters
model: ./models/bert
task:
  kind: classification
  train: ./data/train.tsv
  validation: ./data/dev.tsv
  text: sentence
  label: label
  metric: accuracy
  max_length: 128
method: adapter
adapter:
  size: 64
  sites: [attention, ffn]
  layers: all
  non_linearity: gelu
  init_std: 1.0e-2
  train_layernorm: true
drop:
  layers: 0..4
  mode: static
training:
  learning_rate: 3.0e-4
  epochs: 3
  batch_size: 32
  warmup: 0.1
  weight_decay: 0.0
  seed: 42
sweep:
  grid:
    training.learning_rate: [3.0e-5, 3.0e-4, 3.0e-3]
    training.epochs: [3, 20]
    adapter.size: [8, 64, 256]
  seeds: 5
  select: validation
ablation:
  spans: contiguous
runtime:
  device: auto
  threads: 2
`;

/**
 * Text with one range marked as ⟦…⟧: returns the clean text and the marked range as
 * zero-based line/character positions (the marked text must be on one line).
 */
export function marked(source: string): { text: string; range: { start: { line: number; character: number }; end: { line: number; character: number } } } {
  const open = source.indexOf('⟦');
  const close = source.indexOf('⟧');
  if (open < 0 || close < open) throw new Error('no ⟦…⟧ marker');
  const text = source.slice(0, open) + source.slice(open + 1, close) + source.slice(close + 1);
  const pos = (offset: number) => {
    const before = text.slice(0, offset);
    return { line: before.split('\n').length - 1, character: offset - (before.lastIndexOf('\n') + 1) };
  };
  return { text, range: { start: pos(open), end: pos(close - 1) } };
}

/** Replaces the first occurrence of `from` in the valid experiment (fails loudly if absent). */
export function variant(from: string, to: string, base = VALID_EXPERIMENT): string {
  if (!base.includes(from)) throw new Error(`"${from}" not in the base experiment`);
  return base.replace(from, to);
}

/**
 * A run that is stopped and resumed: `exp.adapter.yaml` (named `name`) trains adapters on the
 * built-in model with dropout and robust AdapterDrop, so every random draw must repeat on
 * resume, over `train.tsv` (64 rows) and `dev.tsv` (16): 16 steps of batch 8.
 */
export const RESUMABLE_EXPERIMENT = (name: string): string =>
  `name: ${name}\nmodel: builtin:tiny-bert\ntask:\n  kind: classification\n  train: ./train.tsv\n  validation: ./dev.tsv\n  text: sentence\n  label: label\n  max_length: 24\nadapter:\n  size: 8\ndrop:\n  layers: 0..2\n  mode: robust\ntraining:\n  learning_rate: 3.0e-3\n  epochs: 2\n  batch_size: 8\n  seed: 11\nruntime:\n  device: cpu\n  threads: 1\n`;

export function resumableWorkspace(name: string): Workspace {
  const ws = new Workspace();
  ws.sentiment('train.tsv', 64, 1);
  ws.sentiment('dev.tsv', 16, 2);
  ws.write('exp.adapter.yaml', RESUMABLE_EXPERIMENT(name));
  return ws;
}
