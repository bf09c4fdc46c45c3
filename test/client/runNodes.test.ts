/** The Runs view's nodes: descriptions with the best metric, and drop-regimes jobs shown as such (not as unreadable folders). */
import assert from 'node:assert/strict';
import * as path from 'node:path';
import { after, describe, test } from 'node:test';
import { listRuns, type RunEntry } from '../../engine/runs/catalog';
import { childrenOf, describeNode, hasChildren, isRegimesFolder, nodeOf, ofExperiment } from '../../client/src/runNodes';
import { Workspace } from '../support/fixtures';

describe('run nodes', () => {
  const ws = new Workspace('adapter-lab-nodes-');
  after(() => ws.dispose());

  test('a run and a sweep say "best <metric> <value>"', () => {
    const run: RunEntry = { kind: 'run', name: 'r-20260101-000000', dir: ws.path('r-20260101-000000'), status: 'completed', method: 'adapter', metric: { name: 'accuracy', value: 0.8125 } };
    assert.match(describeNode(nodeOf(run)), /^completed · adapter · best accuracy 0\.8125$/);
    const sweep: RunEntry = { kind: 'sweep', name: 's-20260101-000000', dir: ws.path('s-20260101-000000'), status: 'completed', trials: 4, metric: { name: 'f1', value: 0.5 } };
    assert.equal(describeNode(nodeOf(sweep)), 'completed · 4 trials · best f1 0.5000');
    assert.equal(describeNode(nodeOf({ ...run, metric: undefined })), 'completed · adapter');
    const partial: RunEntry = { ...sweep, status: 'cancelled', progress: { done: 2, failed: 1 } };
    assert.equal(describeNode(nodeOf(partial)), 'cancelled · 2/4 trials · 1 failed · best f1 0.5000');
    // Marked running by a process that is gone.
    const dead: RunEntry = { ...run, status: 'running', pid: 2 ** 22 + 12345 };
    assert.equal(nodeOf(dead).status, 'interrupted');
    assert.equal(nodeOf({ ...dead, pid: process.pid }).status, 'running');
  });

  test('a fusion run says which adapters it fuses and has their runs as children', () => {
    for (const name of ['sst-20260101-000000', 'mnli-20260101-000000']) {
      ws.write(path.join('store', name, 'status.json'), JSON.stringify({ status: 'completed', started: '2026-01-01T00:00:00Z', step: 3 }));
      ws.write(path.join('store', name, 'config.json'), JSON.stringify({ experiment: { name: name.split('-')[0], method: 'adapter', task: { metric: 'accuracy' } } }));
    }
    const fusion = 'fused-20260102-000000';
    ws.write(path.join('store', fusion, 'status.json'), JSON.stringify({ status: 'completed', started: '2026-01-02T00:00:00Z', step: 3 }));
    const fused = [
      { name: 'sst', source: ws.path('store', 'sst-20260101-000000', 'adapter') },
      { name: 'mnli', source: ws.path('store', 'mnli-20260101-000000', 'adapter') },
      { name: 'hub', source: ws.path('elsewhere', 'hub-adapter') },
    ];
    ws.write(path.join('store', fusion, 'config.json'), JSON.stringify({ experiment: { name: 'fused', method: 'fusion', task: { metric: 'accuracy' }, training: { learningRate: 5e-5, epochs: 10 } }, fused }));
    const node = nodeOf(listRuns(ws.path('store')).find((e) => e.name === fusion)!);
    assert.equal(describeNode(node), 'completed · fusion · lr 5e-5 10 ep · fuses sst, mnli, hub');
    assert.equal(hasChildren(node), true);
    assert.deepEqual(childrenOf(node).map((c) => [c.entry.name, c.kind]), [['sst-20260101-000000', 'run'], ['mnli-20260101-000000', 'run'], ['hub', 'unreadable']]);
    const plain = nodeOf(listRuns(ws.path('store')).find((e) => e.name === 'sst-20260101-000000')!);
    assert.deepEqual([hasChildren(plain), childrenOf(plain)], [false, []]);
  });

  test('a drop-regimes folder is a regimes node with its status and its runs as children', () => {
    const done = 'quick-drop-regimes-20260101-000000';
    ws.write(path.join(done, 'regimes.json'), JSON.stringify({ status: 'cancelled', curves: [] }));
    ws.write(path.join(done, 'runs', 'standard-20260101-000000', 'status.json'), JSON.stringify({ status: 'completed', started: '2026-01-01T00:00:00Z', step: 3 }));
    ws.write(path.join(done, 'runs', 'standard-20260101-000000', 'config.json'), JSON.stringify({ experiment: { name: 'standard', method: 'adapter', task: { metric: 'accuracy' } } }));
    const unfinished = 'quick-drop-regimes-20260102-000000';
    ws.write(path.join(unfinished, 'runs', '.keep'), '');
    ws.write(path.join('foreign', 'notes.txt'), '');
    const nodes = listRuns(ws.root).map((e) => nodeOf(e));
    const by = (name: string) => nodes.find((n) => n.entry.name === name)!;
    assert.deepEqual([by(done).kind, by(done).status], ['regimes', 'cancelled']);
    assert.equal(describeNode(by(done)), 'cancelled · AdapterDrop regimes');
    assert.deepEqual([by(unfinished).kind, by(unfinished).status], ['regimes', 'interrupted'], 'no regimes.json and no live run');
    assert.deepEqual([by('foreign').kind, describeNode(by('foreign'))], ['unreadable', 'unreadable']);
    assert.equal(isRegimesFolder(ws.path('foreign')), false);
    const children = childrenOf(by(done));
    assert.deepEqual(children.map((c) => [c.entry.name, c.kind, c.status, c.sweep?.entry.name]), [['standard-20260101-000000', 'run', 'completed', done]]);
  });

  test('a Slurm sweep: live while Slurm has its trials, each trial by index with what the cluster says (a run on another node is running by Slurm\'s word), waiting trials without a folder', () => {
    const dir = 'cluster-sweep-20260103-000000';
    const trials = [0, 1, 2].map((index) => ({ index, assignments: { 'adapter.size': 8 }, seed: 42 + index }));
    ws.write(path.join(dir, 'sweep.json'), JSON.stringify({ name: 'cluster', metric: 'accuracy', trials }));
    ws.write(path.join(dir, 'status.json'), JSON.stringify({ status: 'running', started: '2026-01-03T00:00:00Z', pid: 2 ** 22 + 12345, host: 'login1', trials: { total: 3, done: 0, failed: 0 }, executor: 'slurm', slurm: { submissions: [{ job: '9', trials: [0, 1, 2], array: '0-2', submitted: '2026-01-03T00:00:00Z' }] } }));
    ws.write(path.join(dir, 'records', 'trial-0000.json'), JSON.stringify({ index: 0, status: 'completed', assignments: { 'adapter.size': 8 }, seed: 42, run: 'trial-0000-20260103-000001', metrics: { accuracy: 0.75 }, trainable: 10, slurm: { job: '9_0', node: 'n1' } }));
    for (const [run, status] of [['trial-0000-20260103-000001', 'completed'], ['trial-0001-20260103-000002', 'running']]) {
      // The trial on another node: its pid means nothing here.
      ws.write(path.join(dir, 'runs', run, 'status.json'), JSON.stringify({ status, started: '2026-01-03T00:00:00Z', step: 3, pid: 2 ** 22 + 12346 }));
      ws.write(path.join(dir, 'runs', run, 'config.json'), JSON.stringify({ experiment: { name: run, method: 'adapter', task: { metric: 'accuracy' } } }));
    }
    ws.write(path.join(dir, 'slurm.json'), JSON.stringify({ observed: '2026-01-03T00:01:00Z', tasks: { '1': { job: '9_1', state: 'RUNNING', node: 'n2' }, '2': { job: '9_2', state: 'PENDING', reason: 'Resources' } } }));
    const sweep = nodeOf(listRuns(ws.root).find((e) => e.name === dir)!);
    assert.deepEqual([sweep.kind, sweep.status], ['sweep', 'running'], 'live, though its submitting process is gone');
    assert.equal(describeNode(sweep), 'running · 1/3 trials · on Slurm: 1 running, 1 pending · best accuracy 0.7500');
    const children = childrenOf(sweep);
    assert.deepEqual(children.map((c) => [c.entry.name, c.kind, c.status]), [['trial-0000-20260103-000001', 'run', 'completed'], ['trial-0001-20260103-000002', 'run', 'running'], ['trial-0002', 'trial', 'pending']]);
    assert.match(describeNode(children[1]!), /^running on n2 \(Slurm 9_1\) · adapter/);
    assert.equal(describeNode(children[2]!), 'pending (Resources) on Slurm 9_2 · adapter.size=8 · seed 44');
  });

  test('asked from an experiment file, only what that experiment made is offered: its runs, its sweeps and their trials', () => {
    const entry = (name: string, dir: string, kind: RunEntry['kind'], experiment?: string): RunEntry => ({ kind, name, dir: ws.path(dir), status: 'completed', ...(experiment ? { experiment } : {}) });
    const entries = [
      entry('a-1', 'a-1', 'run', 'a'),
      entry('b-1', 'b-1', 'run', 'b'),
      entry('a-sweep', 'a-sweep', 'sweep', 'a'),
      entry('trial-0000', path.join('a-sweep', 'runs', 'trial-0000'), 'run', 'trial-0000'),
      entry('b-sweep', 'b-sweep', 'sweep', 'b'),
      entry('trial-0000', path.join('b-sweep', 'runs', 'trial-0000'), 'run', 'trial-0000'),
      // A folder whose name starts like the sweep's is not inside it.
      entry('a-sweep-2', 'a-sweep-2', 'run', 'c'),
    ];
    assert.deepEqual(ofExperiment(entries, 'a').map((e) => path.relative(ws.root, e.dir)), ['a-1', 'a-sweep', path.join('a-sweep', 'runs', 'trial-0000')]);
    assert.deepEqual(ofExperiment(entries, 'none'), []);
  });
});
