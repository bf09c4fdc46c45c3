/**
 * Which experiment Train, Run Sweep and AdapterDrop Regimes act on when they are given none
 * (the palette, the walkthrough's Train step with the walkthrough focused, a keybinding).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { chooseExperiment, isExperimentDocument, type ExperimentCandidates, type OpenDocument } from '../../client/src/experimentChoice';

const doc = (name: string, languageId = name.endsWith('.adapter.yaml') ? 'adapter-yaml' : 'plaintext'): OpenDocument => ({ uri: `file:///w/${name}`, languageId, fileName: `/w/${name}` });
const none: ExperimentCandidates = { active: undefined, visible: [], example: undefined, workspaceFiles: [] };

describe('chooseExperiment', () => {
  test('the active editor, when it shows an experiment', () => {
    const a = doc('a.adapter.yaml');
    assert.deepEqual(chooseExperiment({ ...none, active: a, visible: [a, doc('b.adapter.yaml')], example: 'file:///w/quickstart.adapter.yaml' }), { kind: 'file', uri: a.uri, from: 'active' });
  });

  test('an experiment recognised by its name or by its language (an untitled or renamed file)', () => {
    assert.equal(isExperimentDocument(doc('x.adapter.yml', 'yaml')), true);
    assert.equal(isExperimentDocument({ uri: 'untitled:Untitled-1', languageId: 'adapter-yaml', fileName: 'Untitled-1' }), true);
    assert.equal(isExperimentDocument(doc('notes.yaml', 'yaml')), false);
  });

  test('no active experiment (the walkthrough has the focus): the one experiment on screen', () => {
    const b = doc('b.adapter.yaml');
    assert.deepEqual(chooseExperiment({ ...none, active: doc('README.md'), visible: [doc('README.md'), b, b], example: 'file:///w/quickstart.adapter.yaml' }), { kind: 'file', uri: b.uri, from: 'visible' });
  });

  test('several experiments on screen: the user picks among them', () => {
    const [a, b] = [doc('a.adapter.yaml'), doc('b.adapter.yaml')];
    assert.deepEqual(chooseExperiment({ ...none, visible: [a, b], example: 'file:///w/quickstart.adapter.yaml' }), { kind: 'pick', uris: [a.uri, b.uri], from: 'visible' });
  });

  test('nothing on screen: the example the walkthrough just created', () => {
    assert.deepEqual(chooseExperiment({ ...none, example: 'file:///w/quickstart.adapter.yaml', workspaceFiles: ['file:///w/other.adapter.yaml'] }), { kind: 'file', uri: 'file:///w/quickstart.adapter.yaml', from: 'example' });
  });

  test('else a pick of the workspace experiment files (even one: a job is not started unasked)', () => {
    assert.deepEqual(chooseExperiment({ ...none, workspaceFiles: ['file:///w/z.adapter.yaml', 'file:///w/a.adapter.yml', 'file:///w/z.adapter.yaml'] }), { kind: 'pick', uris: ['file:///w/a.adapter.yml', 'file:///w/z.adapter.yaml'], from: 'workspace' });
    assert.deepEqual(chooseExperiment({ ...none, workspaceFiles: ['file:///w/only.adapter.yaml'] }), { kind: 'pick', uris: ['file:///w/only.adapter.yaml'], from: 'workspace' });
  });

  test('no experiment anywhere: none (the caller says so)', () => {
    assert.deepEqual(chooseExperiment({ ...none, active: doc('README.md') }), { kind: 'none' });
  });
});
