/** Text examples from data files: label maps, pairs, regression targets and located label errors. */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';
import type { Experiment } from '../../../engine/config/experiment';
import { DataError } from '../../../engine/data/errors';
import { LabelMap, loadExperimentData, loadTextExamples, textTaskOf, type TextTask } from '../../../engine/data/examples';

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'adapter-lab-examples-'));
after(() => fs.rmSync(dir, { recursive: true, force: true }));

function write(name: string, content: string): string {
  const file = path.join(dir, name);
  fs.writeFileSync(file, content);
  return file;
}

function taskOf(kind: Experiment['task']['kind'], text: string[], label: string | undefined, train: string, validation?: string): Pick<Experiment, 'task'> {
  return { task: { kind, train, validation, text, label, metric: 'accuracy', maxLength: 128, maskProbability: 0.15, wholeWordMask: false, validationFraction: undefined } };
}

const sentence: TextTask = { kind: 'classification', text: ['sentence'], label: 'label' };

describe('LabelMap', () => {
  test('integer labels are in numeric order, whatever order they appear in', () => {
    assert.deepEqual(LabelMap.fromLabels(['1', '0', '10', '2', '-1', '1']).labels, ['-1', '0', '1', '2', '10']);
  });

  test('other labels are in code-point order and independent of row order', () => {
    const a = LabelMap.fromLabels(['neutral', 'entailment', 'contradiction', 'neutral']);
    assert.deepEqual(a.labels, ['contradiction', 'entailment', 'neutral']);
    assert.deepEqual(LabelMap.fromLabels(['contradiction', 'neutral', 'entailment']).labels, a.labels);
    // One non-integer makes the whole set textual: "10" < "9" < "a".
    assert.deepEqual(LabelMap.fromLabels(['9', 'a', '10']).labels, ['10', '9', 'a']);
    // U+FF5E sorts before U+1F600 by code point, though its UTF-16 unit (0xFF5E) is above the surrogate 0xD83D.
    assert.deepEqual(LabelMap.fromLabels(['😀', '～']).labels, ['～', '😀']);
  });

  test('ids, labels and the JSON form saved in a run folder', () => {
    const map = LabelMap.fromLabels(['pos', 'neg']);
    assert.equal(map.size, 2);
    assert.equal(map.idOf('neg'), 0);
    assert.equal(map.idOf('pos'), 1);
    assert.equal(map.idOf('other'), undefined);
    assert.equal(map.labelOf(1), 'pos');
    assert.throws(() => map.labelOf(2), RangeError);
    const json = JSON.stringify(map);
    assert.equal(json, '{"labels":["neg","pos"]}');
    const back = LabelMap.fromJSON(JSON.parse(json));
    assert.deepEqual(back.labels, map.labels);
    assert.equal(back.idOf('pos'), 1);
  });

  test('a saved map keeps its order (a trained head depends on it) and malformed maps are refused', () => {
    assert.deepEqual(LabelMap.fromJSON({ labels: ['b', 'a'] }).labels, ['b', 'a']);
    assert.throws(() => LabelMap.fromJSON({ labels: ['a', 'a'] }), /once/);
    assert.throws(() => LabelMap.fromJSON({ labels: [1, 2] }), /labels/);
    assert.throws(() => LabelMap.fromJSON(null), /labels/);
  });
});

describe('classification examples', () => {
  test('GLUE-style 0/1 labels map to ids 0/1 even when the first row is labelled 1', () => {
    const file = write('sst2.tsv', 'sentence\tlabel\ngreat film\t1\nawful\t0\nfine\t1\n');
    const data = loadTextExamples(file, sentence);
    assert.deepEqual(data.labelMap!.labels, ['0', '1']);
    assert.deepEqual(
      data.examples.map((e) => [e.index, e.line, e.textA, e.textB, e.label]),
      [
        [0, 2, 'great film', undefined, 1],
        [1, 3, 'awful', undefined, 0],
        [2, 4, 'fine', undefined, 1],
      ],
    );
  });

  test('sentence pairs; labels trimmed; JSONL numbers read as labels like text does', () => {
    const file = write('pairs.jsonl', '{"s1":"A man eats.","s2":"Someone eats.","y":1}\n{"s1":"x","s2":"y","y":0}\n');
    const data = loadTextExamples(file, { kind: 'classification', text: ['s1', 's2'], label: 'y' });
    assert.deepEqual(data.examples[0], { index: 0, line: 1, textA: 'A man eats.', textB: 'Someone eats.', label: 1 });
    const tsv = write('trim.tsv', 'sentence\tlabel\na\t pos \nb\tneg\n');
    assert.deepEqual(loadTextExamples(tsv, sentence).labelMap!.labels, ['neg', 'pos']);
  });

  test('validation data uses the training map; an unseen label is a located DataError', () => {
    const train = write('train.tsv', 'sentence\tlabel\na\tneg\nb\tpos\n');
    const dev = write('dev.tsv', 'sentence\tlabel\nc\tpos\nd\tneutral\n');
    const map = loadTextExamples(train, sentence).labelMap!;
    assert.throws(
      () => loadTextExamples(dev, sentence, map),
      (e: unknown) => e instanceof DataError && e.file === dev && e.line === 3 && /label "neutral" does not occur in the training data \(its labels: neg, pos\)/.test(e.message),
    );
    const ok = write('dev-ok.tsv', 'sentence\tlabel\nc\tpos\n');
    assert.deepEqual(loadTextExamples(ok, sentence, map).examples.map((e) => e.label), [1]);
  });

  test('validation labels are mapped with the training map, not re-sorted', () => {
    const train = write('t3.tsv', 'sentence\tlabel\na\t2\nb\t1\nc\t0\n');
    const dev = write('d3.tsv', 'sentence\tlabel\nx\t2\n');
    const { train: t, validation: v } = loadExperimentData(taskOf('classification', ['sentence'], 'label', train, dev));
    assert.deepEqual(t.examples.map((e) => e.label), [2, 1, 0]);
    assert.equal(v!.labelMap, t.labelMap);
    assert.deepEqual(v!.examples.map((e) => e.label), [2]);
  });

  test('null, empty and missing labels and texts', () => {
    const nullLabel = write('null.jsonl', '{"sentence":"a","label":1}\n{"sentence":"b","label":null}\n');
    assert.throws(() => loadTextExamples(nullLabel, sentence), (e: unknown) => e instanceof DataError && e.line === 2 && /null/.test(e.message));
    const empty = write('empty-label.csv', 'sentence,label\na,1\nb,\n');
    assert.throws(() => loadTextExamples(empty, sentence), (e: unknown) => e instanceof DataError && e.line === 3 && /empty/.test(e.message));
    const nullText = write('null-text.jsonl', '{"sentence":null,"label":1}\n');
    assert.throws(() => loadTextExamples(nullText, sentence), (e: unknown) => e instanceof DataError && e.line === 1 && /"sentence" is null/.test(e.message));
    const noColumn = write('nocol.tsv', 'text\tlabel\na\t1\n');
    assert.throws(() => loadTextExamples(noColumn, sentence), (e: unknown) => e instanceof DataError && e.line === 1 && /missing column "sentence"/.test(e.message));
  });
});

describe('regression examples', () => {
  test('numbers from text and JSON', () => {
    const file = write('stsb.tsv', 's1\ts2\tscore\na\tb\t3.8\nc\td\t-1e-3\ne\tf\t5\ng\th\t .5 \n');
    const data = loadTextExamples(file, { kind: 'regression', text: ['s1', 's2'], label: 'score' });
    assert.equal(data.labelMap, undefined);
    assert.deepEqual(data.examples.map((e) => e.label), [3.8, -0.001, 5, 0.5]);
    const jsonl = write('reg.jsonl', '{"t":"x","y":2.5}\n{"t":"z","y":"4"}\n');
    assert.deepEqual(loadTextExamples(jsonl, { kind: 'regression', text: ['t'], label: 'y' }).examples.map((e) => e.label), [2.5, 4]);
  });

  test('a non-numeric target names its line and value', () => {
    const task: TextTask = { kind: 'regression', text: ['t'], label: 'y' };
    for (const [bad, shown] of [['abc', '"abc"'], ['', '""'], ['0x10', '"0x10"'], ['NaN', '"NaN"'], ['Infinity', '"Infinity"'], ['1,5', '"1,5"']] as const) {
      const file = write('bad.tsv', `t\ty\nfine\t1\nbad\t${bad}\n`);
      assert.throws(
        () => loadTextExamples(file, task),
        (e: unknown) => e instanceof DataError && e.line === 3 && e.message.includes(`must be a number, found ${shown}`),
        bad,
      );
    }
    const bool = write('bool.jsonl', '{"t":"x","y":true}\n');
    assert.throws(() => loadTextExamples(bool, task), (e: unknown) => e instanceof DataError && e.line === 1 && /found true/.test(e.message));
  });
});

describe('textTaskOf', () => {
  test('takes kind, columns and label from an experiment', () => {
    assert.deepEqual(textTaskOf(taskOf('regression', ['a', 'b'], 'y', 'f')), { kind: 'regression', text: ['a', 'b'], label: 'y' });
  });

  test('refuses span tasks, missing labels and other than one or two text columns', () => {
    assert.throws(() => textTaskOf(taskOf('span', [], undefined, 'f')), /SQuAD/);
    assert.throws(() => textTaskOf(taskOf('classification', ['a'], undefined, 'f')), /task\.label/);
    assert.throws(() => textTaskOf(taskOf('classification', [], 'y', 'f')), /found 0/);
    assert.throws(() => textTaskOf(taskOf('classification', ['a', 'b', 'c'], 'y', 'f')), /found 3/);
  });
});
