/**
 * The editor's runs folder (`resolveRunsDir`), which the extension passes to its jobs and the
 * language server looks experiment names up in, and the CLI's own default beside the file.
 */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { DEFAULT_RUNS_FOLDER, resolveRunsDir } from '../../engine/config/runsFolder';
import { defaultRunsDir } from '../../engine/runs/store';

const ws = path.resolve('/work', 'project');
const file = path.join(ws, 'examples', 'fusion.adapter.yaml');

describe('resolveRunsDir', () => {
  test('no setting: .adapter-lab/runs in the workspace folder, wherever the experiment file is', () => {
    assert.equal(resolveRunsDir('', ws, file), path.join(ws, '.adapter-lab', 'runs'));
    assert.equal(resolveRunsDir('', ws, undefined), path.join(ws, '.adapter-lab', 'runs'));
    assert.equal(resolveRunsDir('   ', ws, file), path.join(ws, '.adapter-lab', 'runs'), 'blank counts as unset');
  });

  test('an absolute setting is the folder itself, normalised', () => {
    const elsewhere = path.resolve('/data', 'runs');
    assert.equal(resolveRunsDir(elsewhere, ws, file), elsewhere);
    assert.equal(resolveRunsDir(` ${path.join(elsewhere, 'x', '..')}${path.sep} `, undefined, undefined), elsewhere);
  });

  test('a relative setting is relative to the workspace folder, not to the experiment file', () => {
    assert.equal(resolveRunsDir('runs', ws, file), path.join(ws, 'runs'));
    assert.equal(resolveRunsDir(path.join('..', 'shared'), ws, file), path.resolve(ws, '..', 'shared'));
  });

  test('without a workspace folder the experiment file\'s folder stands in, as for the CLI', () => {
    assert.equal(resolveRunsDir('', undefined, file), path.join(ws, 'examples', '.adapter-lab', 'runs'));
    assert.equal(resolveRunsDir('', undefined, file), defaultRunsDir(file));
    assert.equal(resolveRunsDir('runs', undefined, file), path.join(ws, 'examples', 'runs'));
  });

  test('with neither a workspace folder nor a file there is no runs folder, unless the setting is absolute', () => {
    assert.equal(resolveRunsDir('', undefined, undefined), undefined);
    assert.equal(resolveRunsDir('runs', undefined, undefined), undefined);
  });

  test('the CLI without --runs keeps runs beside the experiment file, unlike the editor', () => {
    assert.equal(defaultRunsDir(file), path.join(ws, 'examples', DEFAULT_RUNS_FOLDER));
    assert.notEqual(defaultRunsDir(file), resolveRunsDir('', ws, file));
  });
});
