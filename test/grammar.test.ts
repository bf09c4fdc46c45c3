/**
 * The TextMate grammars of `*.adapter.yaml`, run through the same engine VS Code uses
 * (vscode-textmate over vscode-oniguruma) with a real YAML grammar underneath: the
 * experiment grammar delegates to `source.yaml`, and the injection grammar adds layer
 * ranges, built-in models, suppression comments, grid paths and enum keywords on top.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createOnigScanner, createOnigString, loadWASM } from 'vscode-oniguruma';
import { INITIAL, Registry, parseRawGrammar, type IGrammar, type IOnigLib, type StateStack } from 'vscode-textmate';
import { DEVICES, DROP_MODES, METHODS, SITES, TASK_KINDS } from '../engine/config/schema';

/** Compiled to out/test/grammar.test.js, so the repository root is two folders up. */
const ROOT = path.resolve(__dirname, '..', '..');
const MAIN_SCOPE = 'source.adapter-yaml';
const INJECTION_SCOPE = 'source.adapter-yaml.injection';
const YAML_SCOPE = 'source.yaml';
const MAIN_GRAMMAR = path.join(ROOT, 'syntaxes', 'adapter-yaml.tmLanguage.json');
const INJECTION_GRAMMAR = path.join(ROOT, 'syntaxes', 'adapter-yaml.injection.tmLanguage.json');

const RANGE = 'meta.range.adapter-yaml';
const RANGE_NUMBER = 'constant.numeric.integer.range.adapter-yaml';
const RANGE_OPERATOR = 'keyword.operator.range.adapter-yaml';
const BUILTIN = 'support.constant.builtin-model.adapter-yaml';
const DIRECTIVE = 'keyword.other.directive.suppression.adapter-yaml';
const FINDING_CODE = 'constant.other.finding-code.adapter-yaml';
const GRID_PATH = 'variable.other.grid-path.adapter-yaml';
const KEYWORD = 'constant.language.adapter-yaml';
const YAML_KEY = 'entity.name.tag.yaml';
const YAML_COMMENT = 'comment.line.number-sign.yaml';

/** The enum keywords the injection knows, as the schema spells them. */
const KEYWORDS: readonly string[] = [
  'adapter', 'full', 'top_k', 'layernorm', 'fusion', 'attention', 'ffn', 'contiguous', 'all', 'none',
  'static', 'robust', 'auto', 'cpu', 'webgpu', 'cuda', 'classification', 'regression', 'span', 'mlm',
];

/** An experiment that uses every construct the injection knows. */
const EXPERIMENT = `# Houlsby adapters with AdapterDrop, a sweep and an ablation.
# Layers 0..11 appear in comments too; none of these are language tokens:
#   drop.layers: 0..4
#   method: adapter
name: adapter_size-study
model: builtin:tiny-bert
task:
  kind: classification
  train: ./data/sentiment/train.tsv
  text: [sentence1, sentence2]
  label: label
method: top_k
top_k: 2
x-base: &base
  learning_rate: 3.0e-4
adapter:
  # adapter-lab-disable-next-line not-bottleneck, drop-not-lowest
  size: 16  # bottleneck m
  sites: [attention, ffn]
  layers: 0..11
drop:
  layers: [0..3, 7]
  mode: robust
training:
  <<: *base
  epochs: 3
sweep:
  grid:
    adapter.size: [8, 64]
    training.learning_rate: [3.0e-5, 3.0e-4]
    method: [adapter, full, layernorm]
  seeds: 2
ablation:
  spans:
    - 0..4
    - 6..11
runtime:
  device: cuda # or auto
`;

/** Lines that look close to the language's tokens but are not them. */
const LOOKALIKES = `name: my adapter
description: adapter_size sweep over 0..11 layers
adapter:
  layers: "0..4"
  sites: 'attention'
drop:
  layers: -1..3
  mode: staticky
# see adapter-lab-disable-next-line for how to silence a warning
label: adapter-lab-disable-next-line not-bottleneck
model: ./models/builtin-bert
`;

interface Token {
  readonly text: string;
  readonly start: number;
  readonly end: number;
  readonly scopes: readonly string[];
}

interface TokenizedLine {
  readonly text: string;
  readonly tokens: readonly Token[];
}

let grammarPromise: Promise<IGrammar> | undefined;

/** The experiment grammar, with its injection and the YAML grammar, loaded once. */
function experimentGrammar(): Promise<IGrammar> {
  grammarPromise ??= loadExperimentGrammar();
  return grammarPromise;
}

async function loadExperimentGrammar(): Promise<IGrammar> {
  await loadWASM({ data: fs.readFileSync(require.resolve('vscode-oniguruma/release/onig.wasm')) });
  const onigLib: IOnigLib = {
    createOnigScanner: (sources) => createOnigScanner(sources),
    createOnigString: (text) => createOnigString(text),
  };
  const files: Readonly<Record<string, string>> = {
    [MAIN_SCOPE]: MAIN_GRAMMAR,
    [INJECTION_SCOPE]: INJECTION_GRAMMAR,
    [YAML_SCOPE]: require.resolve('tm-grammars/grammars/yaml.json'),
  };
  const registry = new Registry({
    onigLib: Promise.resolve(onigLib),
    loadGrammar: async (scopeName) => {
      const file = files[scopeName];
      return file === undefined ? null : parseRawGrammar(fs.readFileSync(file, 'utf8'), file);
    },
    getInjections: (scopeName) => (scopeName === MAIN_SCOPE ? [INJECTION_SCOPE] : undefined),
  });
  const grammar = await registry.loadGrammar(MAIN_SCOPE);
  assert.ok(grammar, `grammar ${MAIN_SCOPE} did not load`);
  return grammar;
}

/** Tokenizes a whole file line by line, carrying the rule stack as an editor does. */
async function tokenize(source: string): Promise<TokenizedLine[]> {
  const grammar = await experimentGrammar();
  let state: StateStack = INITIAL;
  return source.split(/\r?\n/).map((text) => {
    const result = grammar.tokenizeLine(text, state);
    state = result.ruleStack;
    const tokens = result.tokens.map((t) => ({
      text: text.slice(t.startIndex, Math.min(t.endIndex, text.length)),
      start: t.startIndex,
      end: Math.min(t.endIndex, text.length),
      scopes: t.scopes,
    }));
    return { text, tokens };
  });
}

/** The one line whose text is exactly `text`. */
function line(doc: readonly TokenizedLine[], text: string): TokenizedLine {
  const found = doc.filter((l) => l.text === text);
  assert.equal(found.length, 1, `expected exactly one line ${JSON.stringify(text)}`);
  return found[0]!;
}

/** Column of the `occurrence`-th (0-based) appearance of `needle` in the line. */
function columnOf(l: TokenizedLine, needle: string, occurrence: number): number {
  let column = -1;
  for (let i = 0; i <= occurrence; i++) {
    column = l.text.indexOf(needle, column + 1);
    assert.notEqual(column, -1, `${JSON.stringify(needle)} #${occurrence} not in ${JSON.stringify(l.text)}`);
  }
  return column;
}

/** Every token that overlaps `needle` in the line. */
function tokensOver(l: TokenizedLine, needle: string, occurrence = 0): Token[] {
  const start = columnOf(l, needle, occurrence);
  const end = start + needle.length;
  const tokens = l.tokens.filter((t) => t.start < end && t.end > start);
  assert.ok(tokens.length > 0, `no token over ${JSON.stringify(needle)} in ${JSON.stringify(l.text)}`);
  return tokens;
}

/** The scopes of the single token that is exactly `needle`. */
function scopesOf(l: TokenizedLine, needle: string, occurrence = 0): readonly string[] {
  const tokens = tokensOver(l, needle, occurrence);
  assert.equal(
    tokens.length === 1 && tokens[0]!.text === needle,
    true,
    `expected ${JSON.stringify(needle)} to be one token in ${JSON.stringify(l.text)}, got ${show(tokens)}`,
  );
  return tokens[0]!.scopes;
}

function show(tokens: readonly Token[]): string {
  return tokens.map((t) => `${JSON.stringify(t.text)} [${t.scopes.join(' ')}]`).join(', ');
}

function assertHas(scopes: readonly string[], scope: string, what: string): void {
  assert.ok(scopes.includes(scope), `${what}: expected scope ${scope}, got [${scopes.join(' ')}]`);
}

/** No scope equal to, or under, `scope` (so `meta.range.adapter-yaml` covers its children too). */
function assertLacks(scopes: readonly string[], scope: string, what: string): void {
  const hit = scopes.find((s) => s === scope || s.startsWith(`${scope}.`));
  assert.equal(hit, undefined, `${what}: unexpected scope ${scope} in [${scopes.join(' ')}]`);
}

function assertNoneHave(tokens: readonly Token[], scope: string, what: string): void {
  for (const t of tokens) assertLacks(t.scopes, scope, `${what} (${JSON.stringify(t.text)})`);
}

function readJson(file: string): Record<string, unknown> {
  const value: unknown = JSON.parse(fs.readFileSync(file, 'utf8'));
  assert.ok(typeof value === 'object' && value !== null && !Array.isArray(value), `${file} is not a JSON object`);
  return value as Record<string, unknown>;
}

test('both grammar files are valid JSON with the scope names package.json contributes', () => {
  const main = readJson(MAIN_GRAMMAR);
  assert.equal(main.scopeName, MAIN_SCOPE);
  assert.deepEqual(main.patterns, [{ include: YAML_SCOPE }], 'the experiment grammar delegates to YAML');

  const injection = readJson(INJECTION_GRAMMAR);
  assert.equal(injection.scopeName, INJECTION_SCOPE);
  assert.equal(typeof injection.injectionSelector, 'string');
  assert.match(String(injection.injectionSelector), /(^|,\s*)L:source\.adapter-yaml -comment\b/);
  assert.ok(Array.isArray(injection.patterns) && injection.patterns.length > 0, 'the injection has patterns');

  const pkg = readJson(path.join(ROOT, 'package.json'));
  const contributes = pkg.contributes as { grammars?: { scopeName: string; path: string; injectTo?: string[] }[] };
  const grammars = contributes.grammars ?? [];
  for (const [scope, file] of [[MAIN_SCOPE, MAIN_GRAMMAR], [INJECTION_SCOPE, INJECTION_GRAMMAR]] as const) {
    const entry = grammars.find((g) => g.scopeName === scope);
    assert.ok(entry, `package.json contributes ${scope}`);
    assert.equal(path.resolve(ROOT, entry.path), file, `package.json points ${scope} at ${file}`);
  }
  assert.deepEqual(grammars.find((g) => g.scopeName === INJECTION_SCOPE)?.injectTo, [MAIN_SCOPE]);
});

test('layer ranges a..b get range scopes as whole values and as list items', async () => {
  const doc = await tokenize(EXPERIMENT);

  const whole = line(doc, '  layers: 0..11');
  for (const [needle, scope] of [['0', RANGE_NUMBER], ['..', RANGE_OPERATOR], ['11', RANGE_NUMBER]] as const) {
    const scopes = scopesOf(whole, needle);
    assertHas(scopes, scope, `${needle} in 0..11`);
    assertHas(scopes, RANGE, `${needle} in 0..11`);
  }

  const flow = line(doc, '  layers: [0..3, 7]');
  assertHas(scopesOf(flow, '0'), RANGE_NUMBER, '0 in [0..3, 7]');
  assertHas(scopesOf(flow, '..'), RANGE_OPERATOR, '.. in [0..3, 7]');
  assertHas(scopesOf(flow, '3'), RANGE_NUMBER, '3 in [0..3, 7]');
  assertHas(scopesOf(flow, '3'), 'meta.flow-sequence.yaml', '3 in [0..3, 7]');
  // A single index stays YAML's integer, and YAML still owns the list punctuation.
  assertLacks(scopesOf(flow, '7'), RANGE, '7 in [0..3, 7]');
  assertHas(scopesOf(flow, '7'), 'constant.numeric.integer.yaml', '7 in [0..3, 7]');
  assertHas(scopesOf(flow, ','), 'punctuation.separator.sequence.yaml', ', in [0..3, 7]');
  assertHas(scopesOf(flow, '['), 'punctuation.definition.sequence.begin.yaml', '[ in [0..3, 7]');
  assertHas(scopesOf(flow, ']'), 'punctuation.definition.sequence.end.yaml', '] in [0..3, 7]');

  const item = line(doc, '    - 6..11');
  assertHas(scopesOf(item, '6'), RANGE_NUMBER, '6 in - 6..11');
  assertHas(scopesOf(item, '11'), RANGE_NUMBER, '11 in - 6..11');
  assertHas(scopesOf(item, '-'), 'punctuation.definition.block.sequence.item.yaml', 'the block item dash');
});

test('built-in model references get the builtin-model scope', async () => {
  const doc = await tokenize(EXPERIMENT);
  const model = line(doc, 'model: builtin:tiny-bert');
  assertHas(scopesOf(model, 'builtin:tiny-bert'), BUILTIN, 'builtin:tiny-bert');
  for (const t of tokensOver(model, 'model')) assertHas(t.scopes, YAML_KEY, 'the model key');
  assertHas(scopesOf(model, ':'), 'punctuation.separator.key-value.mapping.yaml', 'the key colon');

  const folder = line(await tokenize(LOOKALIKES), 'model: ./models/builtin-bert');
  assertNoneHave(tokensOver(folder, './models/builtin-bert'), BUILTIN, 'a model folder path');
});

test('a suppression comment gets the directive and finding-code scopes inside the YAML comment', async () => {
  const doc = await tokenize(EXPERIMENT);
  const comment = line(doc, '  # adapter-lab-disable-next-line not-bottleneck, drop-not-lowest');
  const directive = scopesOf(comment, 'adapter-lab-disable-next-line');
  assertHas(directive, DIRECTIVE, 'the directive');
  assertHas(directive, YAML_COMMENT, 'the directive');
  for (const code of ['not-bottleneck', 'drop-not-lowest']) {
    const scopes = scopesOf(comment, code);
    assertHas(scopes, FINDING_CODE, code);
    assertHas(scopes, YAML_COMMENT, code);
  }
  assertHas(scopesOf(comment, '#'), 'punctuation.definition.comment.yaml', 'the # of the directive comment');
  assertLacks(scopesOf(comment, ','), FINDING_CODE, 'the comma between codes');
  assertHas(scopesOf(comment, ','), YAML_COMMENT, 'the comma between codes');

  // The engine only reads the directive right after the '#'; elsewhere it is prose.
  const prose = line(await tokenize(LOOKALIKES), '# see adapter-lab-disable-next-line for how to silence a warning');
  const tokens = tokensOver(prose, 'adapter-lab-disable-next-line for how');
  assertNoneHave(tokens, DIRECTIVE, 'the directive name mid-comment');
  assertNoneHave(tokens, FINDING_CODE, 'words after a mid-comment directive name');
  for (const t of tokens) assertHas(t.scopes, YAML_COMMENT, `comment text ${JSON.stringify(t.text)}`);

  // Outside a comment the directive's words are just a value.
  const value = tokensOver(line(await tokenize(LOOKALIKES), 'label: adapter-lab-disable-next-line not-bottleneck'), 'adapter-lab-disable-next-line not-bottleneck');
  assertNoneHave(value, DIRECTIVE, 'the directive name as a value');
  assertNoneHave(value, FINDING_CODE, 'a finding code in a value');
  for (const t of value) assertHas(t.scopes, 'string.unquoted.plain.out.yaml', `value ${JSON.stringify(t.text)}`);
});

test('dotted sweep-grid keys keep the YAML key scope and add the grid-path scope', async () => {
  const doc = await tokenize(EXPERIMENT);
  const size = line(doc, '    adapter.size: [8, 64]');
  const keyTokens = tokensOver(size, 'adapter.size');
  assert.equal(keyTokens[0]!.start, columnOf(size, 'adapter.size', 0), 'the grid path starts a token');
  for (const t of keyTokens) {
    assertHas(t.scopes, GRID_PATH, `adapter.size (${JSON.stringify(t.text)})`);
    assertHas(t.scopes, YAML_KEY, `adapter.size (${JSON.stringify(t.text)})`);
  }
  assert.equal(keyTokens.map((t) => t.text).join(''), 'adapter.size', 'the grid path covers the key exactly');
  assertLacks(scopesOf(size, ':'), GRID_PATH, 'the colon after the grid path');
  assertHas(scopesOf(size, ':'), 'punctuation.separator.key-value.mapping.yaml', 'the colon after the grid path');
  assertHas(scopesOf(size, '64'), 'constant.numeric.integer.yaml', 'a grid value');
  // The key word `adapter` inside the path is a key, not the enum keyword.
  assertNoneHave(keyTokens, KEYWORD, 'adapter.size');

  const rate = line(doc, '    training.learning_rate: [3.0e-5, 3.0e-4]');
  for (const t of tokensOver(rate, 'training.learning_rate')) assertHas(t.scopes, GRID_PATH, 'training.learning_rate');
  assertHas(scopesOf(rate, '3.0e-5'), 'constant.numeric.float.yaml', 'a learning-rate grid value');

  // An undotted grid key is an ordinary YAML key.
  const method = line(doc, '    method: [adapter, full, layernorm]');
  for (const t of tokensOver(method, 'method')) {
    assertHas(t.scopes, YAML_KEY, 'the method grid key');
    assertLacks(t.scopes, GRID_PATH, 'the method grid key');
  }
});

test('enum keywords standing as whole plain values get constant.language', async () => {
  const doc = await tokenize(EXPERIMENT);
  assertHas(scopesOf(line(doc, 'method: top_k'), 'top_k'), KEYWORD, 'method: top_k');
  assertHas(scopesOf(line(doc, '  kind: classification'), 'classification'), KEYWORD, 'kind: classification');
  assertHas(scopesOf(line(doc, '  mode: robust'), 'robust'), KEYWORD, 'mode: robust');

  const sites = line(doc, '  sites: [attention, ffn]');
  assertHas(scopesOf(sites, 'attention'), KEYWORD, 'attention in a flow list');
  assertHas(scopesOf(sites, 'ffn'), KEYWORD, 'ffn in a flow list');
  assertHas(scopesOf(sites, 'ffn'), 'meta.flow-sequence.yaml', 'ffn in a flow list');

  const grid = line(doc, '    method: [adapter, full, layernorm]');
  for (const word of ['adapter', 'full', 'layernorm']) assertHas(scopesOf(grid, word), KEYWORD, `${word} in a grid list`);

  const device = line(doc, '  device: cuda # or auto');
  assertHas(scopesOf(device, 'cuda'), KEYWORD, 'device: cuda before a comment');
  assertNoneHave(tokensOver(device, 'auto'), KEYWORD, 'auto inside the trailing comment');
  for (const t of tokensOver(device, '# or auto')) assertHas(t.scopes, YAML_COMMENT, 'the trailing comment');

  // Not in keys: `adapter:` and `top_k:` are YAML keys.
  const adapterKey = line(doc, 'adapter:');
  for (const t of tokensOver(adapterKey, 'adapter')) {
    assertHas(t.scopes, YAML_KEY, 'the adapter key');
    assertLacks(t.scopes, KEYWORD, 'the adapter key');
  }
  assertNoneHave(tokensOver(line(doc, 'top_k: 2'), 'top_k'), KEYWORD, 'the top_k key');
});

test('every keyword is constant.language as a value and as a list item, and covers the schema enums', async () => {
  const schemaWords = [...METHODS, ...SITES, ...DROP_MODES, ...DEVICES, ...TASK_KINDS, 'all', 'none', 'contiguous'];
  assert.deepEqual([...KEYWORDS].sort(), [...new Set(schemaWords)].sort(), 'the keyword list follows the schema');
  const source = KEYWORDS.map((word) => `value: ${word}\nlist: [${word}, x]\n- ${word}`).join('\n');
  const doc = await tokenize(source);
  for (const word of KEYWORDS) {
    assertHas(scopesOf(line(doc, `value: ${word}`), word), KEYWORD, `value: ${word}`);
    assertHas(scopesOf(line(doc, `list: [${word}, x]`), word), KEYWORD, `[${word}, x]`);
    assertHas(scopesOf(line(doc, `- ${word}`), word), KEYWORD, `- ${word}`);
    assertNoneHave(tokensOver(line(doc, `list: [${word}, x]`), 'x'), KEYWORD, `x after ${word}`);
  }
});

test('plain YAML keeps its own scopes under the injection', async () => {
  const doc = await tokenize(EXPERIMENT);
  const rate = line(doc, '  learning_rate: 3.0e-4');
  for (const t of tokensOver(rate, 'learning_rate')) {
    assertHas(t.scopes, YAML_KEY, 'learning_rate');
    assertLacks(t.scopes, GRID_PATH, 'learning_rate');
  }
  assertHas(scopesOf(rate, '3.0e-4'), 'constant.numeric.float.yaml', '3.0e-4');
  assertHas(scopesOf(line(doc, '  epochs: 3'), '3'), 'constant.numeric.integer.yaml', 'epochs: 3');

  const header = line(doc, '# Houlsby adapters with AdapterDrop, a sweep and an ablation.');
  for (const t of header.tokens) assertHas(t.scopes, YAML_COMMENT, `header comment ${JSON.stringify(t.text)}`);
  const trailing = line(doc, '  size: 16  # bottleneck m');
  assertHas(scopesOf(trailing, '16'), 'constant.numeric.integer.yaml', 'size: 16');
  for (const t of tokensOver(trailing, '# bottleneck m')) assertHas(t.scopes, YAML_COMMENT, 'a trailing comment');

  assertHas(scopesOf(line(doc, 'x-base: &base'), 'base', 1), 'entity.name.type.anchor.yaml', 'an anchor');
  const merge = line(doc, '  <<: *base');
  assertHas(scopesOf(merge, '<<'), 'constant.language.merge.yaml', 'a merge key');
  assertHas(scopesOf(merge, 'base'), 'variable.other.alias.yaml', 'an alias');
  assertHas(scopesOf(line(doc, '  train: ./data/sentiment/train.tsv'), '/data/sentiment/train.tsv'), 'string.unquoted.plain.out.yaml', 'a path value');

  // The injection never breaks a line: tokens cover every line without gaps.
  for (const l of doc) {
    let at = 0;
    for (const t of l.tokens) {
      assert.equal(t.start, at, `token gap in ${JSON.stringify(l.text)}`);
      at = t.end;
    }
    assert.equal(at, l.text.length, `tokens cover ${JSON.stringify(l.text)}`);
  }
});

test('look-alikes in comments, longer words, keys and quoted strings are not the language tokens', async () => {
  const doc = await tokenize(EXPERIMENT);
  // Ranges, grid paths and keywords inside comments stay comment text.
  for (const text of ['# Layers 0..11 appear in comments too; none of these are language tokens:', '#   drop.layers: 0..4', '#   method: adapter']) {
    const comment = line(doc, text);
    for (const t of comment.tokens) {
      const what = `comment ${JSON.stringify(t.text)}`;
      assertHas(t.scopes, YAML_COMMENT, what);
      for (const scope of [RANGE, RANGE_NUMBER, KEYWORD, GRID_PATH, YAML_KEY]) assertLacks(t.scopes, scope, what);
    }
  }
  // `adapter` inside a longer plain value.
  assertNoneHave(tokensOver(line(doc, 'name: adapter_size-study'), 'adapter'), KEYWORD, 'adapter inside adapter_size-study');

  const odd = await tokenize(LOOKALIKES);
  assertNoneHave(tokensOver(line(odd, 'name: my adapter'), 'adapter'), KEYWORD, 'adapter as the last word of a value');
  const prose = line(odd, 'description: adapter_size sweep over 0..11 layers');
  assertNoneHave(tokensOver(prose, 'adapter'), KEYWORD, 'adapter inside adapter_size');
  assertNoneHave(tokensOver(prose, '0..11'), RANGE, '0..11 inside a longer value');
  assertNoneHave(tokensOver(line(odd, '  mode: staticky'), 'static'), KEYWORD, 'static inside staticky');

  // Quoted scalars are YAML strings, not language tokens (the engine reads "0..4" as a
  // range too, but the editor shows what was written: a quoted string).
  const quoted = line(odd, '  layers: "0..4"');
  const quotedTokens = tokensOver(quoted, '0..4');
  assertNoneHave(quotedTokens, RANGE, 'a quoted "0..4"');
  for (const t of quotedTokens) assertHas(t.scopes, 'string.quoted.double.yaml', 'a quoted "0..4"');
  const single = tokensOver(line(odd, "  sites: 'attention'"), 'attention');
  assertNoneHave(single, KEYWORD, "a quoted 'attention'");
  for (const t of single) assertHas(t.scopes, 'string.quoted.single.yaml', "a quoted 'attention'");

  // A negative bound is not a layer range.
  assertNoneHave(tokensOver(line(odd, '  layers: -1..3'), '-1..3'), RANGE, '-1..3');
});

test('every example experiment tokenizes with the language tokens where the file has them', async () => {
  const dir = path.join(ROOT, 'examples');
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.adapter.yaml')).sort();
  assert.ok(files.length > 0, 'examples/ has experiment files');
  let checked = 0;
  for (const file of files) {
    const doc = await tokenize(fs.readFileSync(path.join(dir, file), 'utf8'));
    for (const l of doc) {
      const where = `${file}: ${JSON.stringify(l.text)}`;
      for (const t of l.tokens) assertLacks(t.scopes, 'invalid', where);
      if (/^\s*#/.test(l.text)) {
        for (const t of l.tokens.filter((t) => t.text.trim() !== '')) assertHas(t.scopes, YAML_COMMENT, where);
        continue;
      }
      const grid = /^\s*([a-z_]+(?:\.[a-z_]+)+):\s/.exec(l.text);
      if (grid) {
        for (const t of tokensOver(l, grid[1]!)) assertHas(t.scopes, GRID_PATH, where);
        checked++;
      }
      const builtin = /:\s+(builtin:[\w-]+)\s*$/.exec(l.text);
      if (builtin) {
        assertHas(scopesOf(l, builtin[1]!), BUILTIN, where);
        checked++;
      }
      const range = /:\s+(\d+)\.\.(\d+)\s*$/.exec(l.text);
      if (range) {
        assertHas(scopesOf(l, '..'), RANGE_OPERATOR, where);
        checked++;
      }
      const value = /^\s*[a-z_]+:\s+([a-z_]+)\s*$/.exec(l.text);
      if (value && KEYWORDS.includes(value[1]!)) {
        assertHas(scopesOf(l, value[1]!, l.text.split(value[1]!).length - 2), KEYWORD, where);
        checked++;
      }
    }
  }
  assert.ok(checked > 0, 'the examples exercised at least one language token');
});
