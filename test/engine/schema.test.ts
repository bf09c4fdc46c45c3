/**
 * One schema, many readers: the generated JSON Schema and docs match the source, and
 * generic tooling with the JSON Schema agrees with the validator on the file's shape.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import Ajv from 'ajv';
import { parse } from 'yaml';
import { closest, EXPERIMENT_SCHEMA, FINDING_CODES, gridPaths, validateExperiment } from '../../engine/config';
import { experimentJsonSchema } from '../../engine/config/jsonSchema';
import { withReference } from '../../engine/config/reference';
import { VALID_EXPERIMENT } from '../support/fixtures';
import { REPO_ROOT } from '../support/lspClient';

const read = (f: string) => fs.readFileSync(path.join(REPO_ROOT, f), 'utf8');

describe('schema', () => {
  test('the committed JSON Schema is the one generated from the source', () => {
    assert.equal(read('schemas/adapter-experiment.schema.json'), JSON.stringify(experimentJsonSchema(), null, 2) + '\n');
  });

  test('docs/config.md documents every key and finding, generated from the source', () => {
    const doc = read('docs/config.md');
    assert.equal(doc, withReference(doc), 'docs/config.md is stale: run npm run build');
    const walk = (spec: typeof EXPERIMENT_SCHEMA, prefix: string[]): string[] =>
      Object.entries(spec.fields).flatMap(([k, s]) => [[...prefix, k].join('.'), ...(s.type === 'object' ? walk(s, [...prefix, k]) : [])]);
    for (const key of walk(EXPERIMENT_SCHEMA, [])) assert.ok(doc.includes(`| \`${key}\``), key);
    for (const code of Object.keys(FINDING_CODES)) assert.ok(doc.includes(`| \`${code}\``), code);
  });

  test('the extension contributes the schema for experiment files', () => {
    const manifest = JSON.parse(read('package.json')) as { contributes: { yamlValidation: { fileMatch: string[]; url: string }[] } };
    assert.deepEqual(manifest.contributes.yamlValidation, [{ fileMatch: ['*.adapter.yaml', '*.adapter.yml'], url: './schemas/adapter-experiment.schema.json' }]);
  });

  test('generic JSON Schema validation accepts every example and the reference file', () => {
    const validate = new Ajv({ allErrors: true, strict: false }).compile(experimentJsonSchema());
    const files = [VALID_EXPERIMENT, ...fs.readdirSync(path.join(REPO_ROOT, 'examples')).filter((f) => f.endsWith('.adapter.yaml')).map((f) => read(`examples/${f}`))];
    for (const text of files) assert.ok(validate(parse(text, { merge: true })), JSON.stringify(validate.errors));
  });

  test('generic JSON Schema validation rejects what the validator rejects for its shape', () => {
    const validate = new Ajv({ allErrors: true, strict: false }).compile(experimentJsonSchema());
    const broken: [string, string][] = [
      ['  size: 64', '  size: 0'],
      ['  size: 64', '  size: 6.5'],
      ['method: adapter', 'method: adaptor'],
      ['warmup: 0.1', 'warmup: 1'],
      ['  learning_rate: 3.0e-4', '  learning_rat: 3.0e-4'],
      ['  layers: all', '  layers: 0-4'],
      ['adapter.size: [8, 64, 256]', 'adapter.sizes: [8]'],
      ['adapter.size: [8, 64, 256]', 'adapter.size: []'],
      ['sites: [attention, ffn]', 'sites: []'],
      ['  select: validation', '  select: validation\n  slurm:\n    time: 1h'],
      ['  select: validation', '  select: validation\n  slurm:\n    time: "2:75:00"'],
      ['  select: validation', '  select: validation\n  slurm:\n    memory: 16GB'],
      ['  select: validation', '  select: validation\n  slurm:\n    gpus: -1'],
      ['  select: validation', '  select: validation\n  slurm:\n    options: []'],
      ['  select: validation', '  select: validation\n  executor: cluster'],
    ];
    // And both accept what Slurm reads.
    for (const slurm of ['time: 90', 'time: "01:30:00"', 'time: 2-12', 'time: UNLIMITED', 'memory: 16G', 'memory: 4000', 'gpus: a100:2', 'gpus: 0']) {
      const text = VALID_EXPERIMENT.replace('  select: validation', `  select: validation\n  executor: slurm\n  slurm:\n    ${slurm}\n    cpus_per_task: 2`);
      assert.ok(validate(parse(text)), `JSON Schema rejected ${slurm}: ${JSON.stringify(validate.errors)}`);
      assert.deepEqual(validateExperiment(text).findings.filter((f) => f.severity === 'error').map((f) => f.message), [], slurm);
    }
    for (const [from, to] of broken) {
      const text = VALID_EXPERIMENT.replace(from, to);
      assert.equal(validate(parse(text)), false, `JSON Schema accepted: ${to}`);
      assert.equal(validateExperiment(text).ok, false, `validator accepted: ${to}`);
    }
  });

  test('grid paths are the schema\'s leaves outside name and sweep', () => {
    const paths = gridPaths();
    assert.ok(paths.includes('adapter.size') && paths.includes('training.learning_rate') && paths.includes('method') && paths.includes('drop.mode'));
    assert.ok(!paths.some((p) => p.startsWith('sweep') || p === 'name' || p === 'task' || p === 'adapter'));
  });

  test('did-you-mean suggests close names only', () => {
    assert.equal(closest('learning_rat', ['learning_rate', 'epochs']), 'learning_rate');
    assert.equal(closest('ephocs', ['learning_rate', 'epochs']), 'epochs');
    assert.equal(closest('Method', ['method']), 'method');
    assert.equal(closest('completely_different', ['method', 'epochs']), undefined);
    assert.equal(closest('method', ['method']), undefined);
  });
});
