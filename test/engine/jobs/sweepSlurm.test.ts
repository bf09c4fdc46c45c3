/**
 * A Slurm sweep without a cluster: the job script, the array specification, Slurm's output
 * read back, the state of each trial from its record and what Slurm said (the states a
 * single-node cluster cannot show quickly, such as a time limit), the folder replayed as
 * events, and the refusal where `sbatch` is missing. test/slurm/ runs sweeps on a real cluster.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { parseSacct, parseSqueue, slurmMessage } from '../../../engine/cluster/slurm';
import { arraySpec, slurmScript } from '../../../engine/jobs/sweepSlurm';
import { statusText } from '../../../engine/cli/sweep';
import { describe as describeEntry, endedTaskState, isLive, slurmTrialViews } from '../../../engine/runs/catalog';
import { replayJob } from '../../../engine/runs/replay';
import { writeJson } from '../../../engine/runs/store';
import { writeTrialRecord, type TrialRecord } from '../../../engine/runs/trials';
import { loadEventContract } from '../../support/eventContract';
import { Workspace } from '../../support/fixtures';
import { REPO_ROOT } from '../../support/lspClient';

const CLI = path.join(REPO_ROOT, 'dist', 'cli.js');

describe('Slurm sweeps, without a cluster', () => {
  let ws: Workspace;
  before(() => {
    ws = new Workspace();
    ws.sentiment('train.tsv', 32, 1);
    ws.sentiment('dev.tsv', 16, 2);
    ws.write('s.adapter.yaml', `name: s\nmodel: builtin:tiny-bert\ntask:\n  kind: classification\n  train: ./train.tsv\n  validation: ./dev.tsv\n  text: sentence\n  label: label\nsweep:\n  grid:\n    adapter.size: [4, 8]\n  executor: slurm\n`);
  });
  after(() => ws.dispose());

  test('the job script: resources as #SBATCH lines, the setup lines, then one trial of the sweep by its array index', () => {
    const script = slurmScript({
      name: 'glue sst2',
      sweepDir: "/shared/runs/it's-sweep",
      settings: { partition: 'gpu', time: '1-00:00:00', cpusPerTask: 8, memory: '32G', gpus: 'a100:1', account: 'lab', qos: 'normal', options: ['--constraint=ib', '--exclusive'], setup: 'module load cuda/12.4\nsource ~/env.sh' },
      plan: { threads: 8, cpus: 8, maxSteps: 100, device: 'cuda' },
      engine: { node: '/opt/node 20/bin/node', cli: '/home/a/adapter-lab/dist/cli.js' },
      submit: ['sbatch', '--array=0-89%10', '/shared/x.sbatch'],
    });
    const directives = script.split('\n').filter((l) => l.startsWith('#SBATCH')).map((l) => l.replace(/\s+#.*$/, ''));
    assert.deepEqual(directives, ['#SBATCH --job-name=glue-sst2-sweep', '#SBATCH --ntasks=1', '#SBATCH --cpus-per-task=8', '#SBATCH --time=1-00:00:00', '#SBATCH --mem=32G', '#SBATCH --gres=gpu:a100:1', '#SBATCH --partition=gpu', '#SBATCH --account=lab', '#SBATCH --qos=normal', '#SBATCH --open-mode=append', '#SBATCH --constraint=ib', '#SBATCH --exclusive']);
    assert.ok(script.startsWith('#!/bin/bash\n'));
    assert.match(script, /#   sbatch --array=0-89%10 \/shared\/x.sbatch/);
    assert.match(script, /\nmodule load cuda\/12.4\nsource ~\/env.sh\n/);
    // Paths are quoted for the shell, whatever they hold.
    assert.match(script, /\nexec '\/opt\/node 20\/bin\/node' '\/home\/a\/adapter-lab\/dist\/cli.js' sweep-trial '\/shared\/runs\/it'\\''s-sweep' "\$SLURM_ARRAY_TASK_ID" --slurm --threads 8 --max-steps 100 --device cuda\n/);
    const r = spawnSync('bash', ['-n'], { input: script, encoding: 'utf8' });
    assert.equal(r.status, 0, `bash reads the script: ${r.stderr}`);
    // No GPUs, no gres line.
    assert.doesNotMatch(slurmScript({ name: 'x', sweepDir: '/s', settings: { gpus: '0', options: [] }, plan: { threads: 1, cpus: 1 }, engine: { node: '/n', cli: '/c' }, submit: [] }), /--gres/);
  });

  test('array specifications: ranges where indices are consecutive', () => {
    assert.equal(arraySpec([0, 1, 2, 3]), '0-3');
    assert.equal(arraySpec([5, 1, 4, 6, 9]), '1,4-6,9');
    assert.equal(arraySpec([7]), '7');
  });

  test("Slurm's output read back: squeue per task (pending with its reason), sacct's states (CANCELLED by …), error lines", () => {
    const squeue = '12|2|PENDING|JobArrayTaskLimit|\n12|0|RUNNING|None|node07\n12|1|TIMEOUT|TimeLimit|node03\n12|3|NODE_FAIL|NodeDown|node09\n';
    assert.deepEqual(parseSqueue(squeue), [
      { id: '12_2', arrayJob: '12', task: 2, state: 'PENDING', reason: 'JobArrayTaskLimit' },
      { id: '12_0', arrayJob: '12', task: 0, state: 'RUNNING', node: 'node07' },
      { id: '12_1', arrayJob: '12', task: 1, state: 'TIMEOUT', reason: 'TimeLimit', node: 'node03' },
      { id: '12_3', arrayJob: '12', task: 3, state: 'NODE_FAIL', reason: 'NodeDown', node: 'node09' },
    ]);
    assert.deepEqual(parseSacct('12_4|CANCELLED by 1000|0:15|node01\n12_4.batch|CANCELLED|0:15|node01\n12_5|OUT_OF_MEMORY|0:125|node02\n'), [
      { id: '12_4', arrayJob: '12', task: 4, state: 'CANCELLED', exitCode: '0:15', node: 'node01' },
      { id: '12_5', arrayJob: '12', task: 5, state: 'OUT_OF_MEMORY', exitCode: '0:125', node: 'node02' },
    ]);
    assert.equal(slurmMessage('sbatch: error: Memory specification can not be satisfied\nsbatch: error: Batch job submission failed: Requested node configuration is not available\n'), 'Memory specification can not be satisfied; Batch job submission failed: Requested node configuration is not available');
    assert.deepEqual(['COMPLETED', 'FAILED', 'CANCELLED', 'TIMEOUT', 'NODE_FAIL', 'OUT_OF_MEMORY', 'PREEMPTED', 'RUNNING'].map(endedTaskState), ['completed', 'failed', 'cancelled', 'timed-out', 'node-failure', 'out-of-memory', 'preempted', undefined]);
  });

  test('a Slurm sweep folder read without Slurm: each trial from its record sharpened by how Slurm ended it, or as Slurm last said; --status prints it; replay gives it as events', () => {
    const dir = ws.path('runs', 'folder-sweep-20260101-000000');
    fs.mkdirSync(dir, { recursive: true });
    const trials = [0, 1, 2, 3, 4].map((index) => ({ index, assignments: { 'adapter.size': index < 3 ? 4 : 8 }, seed: 42 + (index % 3) }));
    writeJson(path.join(dir, 'sweep.json'), { name: 'folder', baseDir: ws.root, metric: 'accuracy', grid: [], seeds: [], trials });
    writeJson(path.join(dir, 'status.json'), { status: 'running', started: '2026-01-01T00:00:00.000Z', pid: 1, host: 'login1', trials: { total: 5, done: 0, failed: 0 }, executor: 'slurm', slurm: { submissions: [{ job: '77', trials: [0, 1, 2, 3, 4], array: '0-4%2', submitted: '2026-01-01T00:00:00.000Z' }] } });
    const record = (index: number, status: TrialRecord['status'], metrics: Record<string, number> = {}): TrialRecord => ({ index, status, assignments: trials[index]!.assignments, seed: trials[index]!.seed, run: undefined, metrics, trainable: 100, slurm: { job: `77_${index}`, node: 'node1' } });
    writeTrialRecord(dir, record(0, 'completed', { accuracy: 0.75 }));
    // Stopped at its time limit: the trial saw SIGTERM and recorded itself cancelled.
    writeTrialRecord(dir, record(1, 'cancelled'));
    writeJson(path.join(dir, 'slurm.json'), { observed: '2026-01-01T01:00:00.000Z', tasks: { '1': { job: '77_1', state: 'TIMEOUT', node: 'node1' }, '2': { job: '77_2', state: 'RUNNING', node: 'node2' }, '3': { job: '77_3', state: 'PENDING', reason: 'Priority' } } });
    const views = slurmTrialViews(dir);
    assert.deepEqual(views.map((v) => [v.state, v.job, v.node, v.reason]), [
      ['completed', '77_0', 'node1', undefined],
      ['timed-out', '77_1', 'node1', undefined],
      ['running', '77_2', 'node2', undefined],
      ['pending', '77_3', undefined, 'Priority'],
      // Submitted after Slurm was last asked.
      ['pending', '77_4', undefined, undefined],
    ]);
    const text = statusText({ sweepDir: dir, name: 'folder', metric: 'accuracy', status: 'running', started: '', submissions: [{ job: '77', trials: [0, 1, 2, 3, 4], array: '0-4%2', submitted: '' }], trials: views, counts: { completed: 1, 'timed-out': 1, running: 1, pending: 2 } });
    assert.match(text, /running on Slurm \(job array 77\): 5 trials, 2 pending, 1 running, 1 completed, 1 timed out/);
    assert.match(text, /\n +1 +timed out +77_1 +node1 /);
    assert.match(text, /pending \(Priority\)/);

    // The Runs view and `runs list`: a Slurm sweep marked running is live (its trials run elsewhere), its progress from the records.
    const entry = describeEntry(dir);
    assert.deepEqual([entry.kind, entry.status, isLive(entry), entry.progress, entry.slurm], ['sweep', 'running', true, { done: 1, failed: 0 }, { jobs: ['77'] }]);
    assert.deepEqual(entry.metric, { name: 'accuracy', value: 0.75 });

    const events = replayJob(dir).events.map((e) => JSON.parse(JSON.stringify(e)) as { type: string; [k: string]: unknown });
    const contract = loadEventContract();
    for (const e of events) assert.deepEqual(contract.check(e), [], JSON.stringify(e));
    assert.equal(events[0]!.executor, 'slurm');
    assert.deepEqual(events.filter((e) => e.type === 'trial-end').map((e) => [e.index, e.status]), [[0, 'completed'], [1, 'cancelled']]);
    assert.deepEqual(events.filter((e) => e.type === 'trial-state').map((e) => [e.index, e.state]), [[1, 'timed-out'], [2, 'running'], [3, 'pending'], [4, 'pending']]);
  });

  test('without sbatch on the PATH a Slurm sweep is refused before any folder exists; --status of a sweep that ran here says so', () => {
    const empty = ws.path('empty-bin');
    fs.mkdirSync(empty, { recursive: true });
    const r = spawnSync(process.execPath, [CLI, 'sweep', 's.adapter.yaml', '--runs', 'runs-nosbatch', '--wait', '--events'], { cwd: ws.root, encoding: 'utf8', env: { ...process.env, PATH: empty } });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /`sbatch` was not found on the PATH: submit Slurm sweeps from a machine with Slurm's commands \(a cluster's login node\), or run the sweep here with --local/);
    assert.deepEqual(r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { type: string; code?: string; status?: string }).map((e) => `${e.type}:${e.code ?? e.status}`), ['error:setup-failed', 'end:failed']);
    assert.equal(fs.existsSync(ws.path('runs-nosbatch')), false);

    const usage = spawnSync(process.execPath, [CLI, 'sweep', 's.adapter.yaml', '--events'], { cwd: ws.root, encoding: 'utf8', env: { ...process.env, PATH: empty } });
    assert.equal(usage.status, 2);
    assert.match(usage.stderr, /--events with --slurm needs --wait/);

    const local = spawnSync(process.execPath, [CLI, 'sweep', 's.adapter.yaml', '--local', '--max-steps', '1', '--runs', 'runs-local'], { cwd: ws.root, encoding: 'utf8' });
    assert.equal(local.status, 0, local.stderr);
    const dir = ws.path('runs-local', fs.readdirSync(ws.path('runs-local'))[0]!);
    const status = spawnSync(process.execPath, [CLI, 'sweep', '--status', dir], { cwd: ws.root, encoding: 'utf8' });
    assert.equal(status.status, 2);
    assert.match(status.stderr, /is not a Slurm sweep/);
  });
});
