/**
 * Cancelling a training run does not wait for the step in flight: SIGTERM during a slow
 * step ends the run `cancelled` at its last completed step within moments, and resume
 * continues from the last checkpoint to the weights an uninterrupted run reaches.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { openSafetensors, readSafetensors } from '../../engine/checkpoint/safetensors';
import { loadEventContract } from '../support/eventContract';
import { RESUMABLE_EXPERIMENT, resumableWorkspace, type Workspace } from '../support/fixtures';
import { REPO_ROOT } from '../support/lspClient';

const CLI = path.join(REPO_ROOT, 'dist', 'cli.js');
const SLOW_STEPS = path.join(REPO_ROOT, 'out', 'test', 'support', 'slowSteps.js');
interface Event { type: string; [k: string]: unknown }

/** Processes whose working folder is `dir` (Linux): what a job left running there. */
function processesIn(dir: string): number[] {
  if (process.platform !== 'linux') return [];
  const found: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (fs.readlinkSync(`/proc/${entry}/cwd`) === dir) found.push(Number(entry));
    } catch {
      // Gone, or not ours to read.
    }
  }
  return found;
}

describe('cancelling a training run', () => {
  let ws: Workspace;
  before(() => {
    ws = resumableWorkspace('cancel-me');
  });
  after(() => ws.dispose());

  test('SIGTERM during a slow step: exit 130 at once, status cancelled at the last completed step, resume reaches the uninterrupted weights', async () => {
    // Steps from the third on block their process for 20 s, as a BERT-base step does for seconds.
    const child = spawn(process.execPath, [CLI, 'train', 'exp.adapter.yaml', '--events', '--checkpoint-every', '1', '--runs', 'runs-term'], {
      cwd: ws.root,
      env: { ...process.env, NODE_OPTIONS: `--require ${SLOW_STEPS}`, SLOW_STEP_MS: '20000', SLOW_STEP_FROM: '3' },
    });
    let out = '';
    let signalledAt = 0;
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (!signalledAt && out.includes('"step":2,')) {
        // Step 3 is in flight (slow) once step 2's event is out.
        signalledAt = -1;
        setTimeout(() => {
          signalledAt = Date.now();
          child.kill('SIGTERM');
        }, 300);
      }
    });
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    const waited = Date.now() - signalledAt;
    assert.equal(code, 130);
    assert.ok(signalledAt > 0, 'the signal was sent during training');
    assert.ok(waited < 2000, `exited ${waited} ms after SIGTERM, with a 20 s step in flight`);

    const events = out.trim().split('\n').map((l) => JSON.parse(l) as Event);
    const contract = loadEventContract();
    for (const e of events) assert.deepEqual(contract.check(e), [], JSON.stringify(e));
    const end = events[events.length - 1]!;
    assert.deepEqual([end.type, end.status, end.steps], ['end', 'cancelled', 2]);
    assert.deepEqual(events.filter((e) => e.type === 'step').map((e) => e.step), [1, 2], 'the abandoned step reports nothing');

    const dir = path.join(ws.path('runs-term'), fs.readdirSync(ws.path('runs-term'))[0]!);
    const status = JSON.parse(fs.readFileSync(path.join(dir, 'status.json'), 'utf8')) as { status: string; step: number };
    assert.deepEqual([status.status, status.step], ['cancelled', 2]);
    const text = fs.readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8');
    assert.ok(text.endsWith('\n'));
    assert.deepEqual(text.trim().split('\n').map((l) => (JSON.parse(l) as Event).step), [1, 2], 'metrics.jsonl holds every completed step, whole');
    const checkpoint = openSafetensors(path.join(dir, 'checkpoint.safetensors'));
    assert.equal(checkpoint.metadata?.step, '2');
    checkpoint.close();
    assert.deepEqual(fs.readdirSync(dir).filter((f) => f.endsWith('.tmp')), [], 'no temporary file left');
    assert.deepEqual(processesIn(ws.root), [], 'the step in flight was abandoned with its process');

    // Resumed (at normal speed) from the checkpoint: the weights of a run never interrupted.
    const resumed = spawnSync(process.execPath, [CLI, 'resume', dir, '--events'], { cwd: ws.root, encoding: 'utf8' });
    assert.equal(resumed.status, 0, resumed.stderr);
    assert.ok(resumed.stdout.includes('resumed from the checkpoint at step 2 of 16'));
    const plain = spawnSync(process.execPath, [CLI, 'train', 'exp.adapter.yaml', '--runs', 'runs-plain'], { cwd: ws.root, encoding: 'utf8' });
    assert.equal(plain.status, 0, plain.stderr);
    const a = readSafetensors(path.join(ws.path('runs-plain'), fs.readdirSync(ws.path('runs-plain'))[0]!, 'adapter', 'adapter.safetensors'));
    const b = readSafetensors(path.join(dir, 'adapter', 'adapter.safetensors'));
    assert.deepEqual([...b.keys()], [...a.keys()]);
    for (const [name, t] of a) assert.deepEqual(b.get(name)!.data, t.data, name);
    const steps = fs.readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Event).filter((m) => m.type === 'step').map((m) => m.step);
    assert.deepEqual(steps, Array.from({ length: 16 }, (_, i) => i + 1));
  });

  test('a sweep with workers whose whole process group gets SIGTERM (each worker signalled twice): every trial ends cancelled', async () => {
    ws.write('sweep.adapter.yaml', RESUMABLE_EXPERIMENT('cancel-sweep') + 'sweep:\n  grid:\n    adapter.size: [4, 8]\n  seeds: 1\n');
    const child = spawn(process.execPath, [CLI, 'sweep', 'sweep.adapter.yaml', '--workers', '2', '--threads', '2', '--events', '--runs', 'runs-group'], {
      cwd: ws.root,
      detached: true,
      env: { ...process.env, NODE_OPTIONS: `--require ${SLOW_STEPS}`, SLOW_STEP_MS: '20000', SLOW_STEP_FROM: '2' },
    });
    // Both workers are in their slow second step once each trial's run folder has its first step recorded.
    const sweepRuns = (): string[] => {
      const root = ws.path('runs-group');
      const sweep = fs.existsSync(root) ? fs.readdirSync(root)[0] : undefined;
      const runs = sweep ? path.join(root, sweep, 'runs') : '';
      return runs && fs.existsSync(runs) ? fs.readdirSync(runs).map((r) => path.join(runs, r)) : [];
    };
    const stepped = (dir: string) => fs.existsSync(path.join(dir, 'metrics.jsonl')) && fs.readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8').includes('"step":1,');
    const deadline = Date.now() + 60_000;
    while (!(sweepRuns().length === 2 && sweepRuns().every(stepped))) {
      assert.ok(Date.now() < deadline, 'both trials started training');
      await new Promise((r) => setTimeout(r, 100));
    }
    await new Promise((r) => setTimeout(r, 300));
    const closed = new Promise<number | null>((resolve) => child.on('close', resolve));
    process.kill(-child.pid!, 'SIGTERM');
    assert.equal(await closed, 130);
    for (const dir of sweepRuns()) assert.equal((JSON.parse(fs.readFileSync(path.join(dir, 'status.json'), 'utf8')) as { status: string }).status, 'cancelled', dir);
    assert.deepEqual(processesIn(ws.root), [], 'no process of the sweep is left');
  });
});
