/** Reveal Folder: the OS file manager only in a local desktop window; elsewhere the Explorer or the folder's main file. */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';
import { isInside, planReveal } from '../../client/src/revealPlan';

describe('planReveal', () => {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), 'reveal-'));
  after(() => fs.rmSync(root, { recursive: true, force: true }));
  const workspace = path.join(root, 'workspace');
  const run = path.join(workspace, '.adapter-lab', 'runs', 'r-20260101-000000');
  const outside = path.join(root, 'elsewhere', 'runs', 'sweep-20260101-000000');
  const bare = path.join(root, 'elsewhere', 'bare');
  fs.mkdirSync(run, { recursive: true });
  fs.writeFileSync(path.join(run, 'status.json'), '{}');
  fs.mkdirSync(outside, { recursive: true });
  fs.writeFileSync(path.join(outside, 'trials.jsonl'), '');
  fs.writeFileSync(path.join(outside, 'sweep.json'), '{}');
  fs.mkdirSync(bare, { recursive: true });
  fs.writeFileSync(path.join(root, 'elsewhere', 'model.onnx'), '');

  const desktop = { remoteName: undefined, desktop: true, workspaceFolders: [workspace] };
  const web = { remoteName: undefined, desktop: false, workspaceFolders: [workspace] };
  const remote = { remoteName: 'ssh-remote', desktop: true, workspaceFolders: [workspace] };

  test('a local desktop window: the OS file manager', () => {
    assert.deepEqual(planReveal(run, desktop), { kind: 'os', path: run });
    assert.deepEqual(planReveal(outside, desktop), { kind: 'os', path: outside });
  });

  test('in a browser (code-server) or a remote window, a folder in the workspace: the Explorer', () => {
    assert.deepEqual(planReveal(run, web), { kind: 'explorer', path: run });
    assert.deepEqual(planReveal(run, remote), { kind: 'explorer', path: run });
  });

  test('outside the workspace: the folder\'s main file opens, or the user is told where it is', () => {
    assert.deepEqual(planReveal(outside, web), { kind: 'open', file: path.join(outside, 'sweep.json') });
    assert.deepEqual(planReveal(bare, remote), { kind: 'message', path: bare });
    assert.deepEqual(planReveal(path.join(root, 'elsewhere', 'model.onnx'), web), { kind: 'message', path: path.join(root, 'elsewhere', 'model.onnx') });
  });

  test('inside means inside: a sibling with a common prefix is not', () => {
    assert.equal(isInside(path.join(workspace, 'a'), workspace), true);
    assert.equal(isInside(workspace, workspace), true);
    assert.equal(isInside(`${workspace}-2/a`, workspace), false);
    assert.equal(isInside(path.dirname(workspace), workspace), false);
  });
});
