/** `adapter-lab resume`: a killed run continues from its checkpoint to the weights an uninterrupted run reaches. */
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { readSafetensors } from '../../../engine/checkpoint/safetensors';
import { resumableWorkspace, type Workspace } from '../../support/fixtures';
import { REPO_ROOT } from '../../support/lspClient';

const CLI = path.join(REPO_ROOT, 'dist', 'cli.js');
interface Event { type: string; [k: string]: unknown }

// Dropout (the built-in model's 0.1) and robust AdapterDrop: every random draw must repeat on resume.
describe('adapter-lab resume', () => {
  let ws: Workspace;
  before(() => {
    ws = resumableWorkspace('resume-me');
  });
  after(() => ws.dispose());

  const weightsOf = (runDir: string) => readSafetensors(path.join(runDir, 'adapter', 'adapter.safetensors'));
  const onlyRun = (runs: string) => path.join(ws.path(runs), fs.readdirSync(ws.path(runs))[0]!);

  test('killed (SIGKILL) after step 7 and resumed: the same final weights as an uninterrupted run', async () => {
    const plain = spawnSync(process.execPath, [CLI, 'train', 'exp.adapter.yaml', '--checkpoint-every', '3', '--runs', 'runs-plain'], { cwd: ws.root, encoding: 'utf8' });
    assert.equal(plain.status, 0, plain.stderr);

    const child = spawn(process.execPath, [CLI, 'train', 'exp.adapter.yaml', '--checkpoint-every', '3', '--events', '--runs', 'runs-killed'], { cwd: ws.root });
    let out = '';
    let killed = false;
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (!killed && out.includes('"step":7,')) {
        killed = true;
        child.kill('SIGKILL');
      }
    });
    await new Promise((resolve) => child.on('close', resolve));
    const dir = onlyRun('runs-killed');
    assert.equal((JSON.parse(fs.readFileSync(path.join(dir, 'status.json'), 'utf8')) as { status: string }).status, 'running', 'a killed run could not say so');
    assert.ok(fs.existsSync(path.join(dir, 'checkpoint.safetensors')));

    const resumed = spawnSync(process.execPath, [CLI, 'resume', dir, '--events'], { cwd: ws.root, encoding: 'utf8' });
    assert.equal(resumed.status, 0, resumed.stderr);
    const events = resumed.stdout.trim().split('\n').map((l) => JSON.parse(l) as Event);
    assert.ok(events.some((e) => e.type === 'log' && /resumed from the checkpoint at step 6 of 16/.test(e.message as string)));
    assert.equal(events.filter((e) => e.type === 'step')[0]!.step, 7);

    const a = weightsOf(onlyRun('runs-plain'));
    const b = weightsOf(dir);
    assert.deepEqual([...b.keys()], [...a.keys()]);
    for (const [name, t] of a) assert.deepEqual(b.get(name)!.data, t.data, name);
    const steps = fs.readFileSync(path.join(dir, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Event).filter((m) => m.type === 'step').map((m) => m.step);
    assert.deepEqual(steps, Array.from({ length: 16 }, (_, i) => i + 1), 'every step once, none lost or repeated');
    assert.equal((JSON.parse(fs.readFileSync(path.join(dir, 'status.json'), 'utf8')) as { status: string }).status, 'completed');
    assert.ok(!fs.existsSync(path.join(dir, 'checkpoint.safetensors')), 'a completed run drops its checkpoint');
  });

  test('a completed run is not resumed; a folder that is not a run is a clear error', () => {
    const done = spawnSync(process.execPath, [CLI, 'resume', onlyRun('runs-plain')], { cwd: ws.root, encoding: 'utf8' });
    assert.equal(done.status, 2);
    assert.match(done.stderr, /has already completed/);
    const junk = spawnSync(process.execPath, [CLI, 'resume', ws.root], { cwd: ws.root, encoding: 'utf8' });
    assert.equal(junk.status, 2);
    assert.match(junk.stderr, /is not a run folder/);
  });
});
