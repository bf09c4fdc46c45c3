/** The extension's job runner without VS Code: the real CLI as a child process, its events, cancellation. */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { cliArgs } from '../../client/src/cliArgs';
import { EXIT_CANCELLED, groupAlive, JobProcess } from '../../client/src/jobProcess';
import { classifyLine, LineSplitter } from '../../client/src/jobStream';
import type { Workspace } from '../support/fixtures';
import { CLI, runJob, tinyExperiment, tinyWorkspace } from './support';

describe('job stream parsing', () => {
  test('lines are reassembled across chunks; a last line without a newline comes out at the end', () => {
    const s = new LineSplitter();
    assert.deepEqual(s.push('{"a":'), []);
    assert.deepEqual(s.push('1}\n{"b"'), ['{"a":1}']);
    assert.deepEqual(s.push(':2}\nnoise'), ['{"b":2}']);
    assert.deepEqual(s.end(), ['noise']);
    assert.deepEqual(s.end(), []);
  });

  test('events, other JSON and noise are told apart', () => {
    const event = classifyLine('{"v":1,"time":"2026-01-01T00:00:00.000Z","type":"log","level":"info","message":"hi"}\r');
    assert.equal(event?.kind, 'event');
    assert.equal(classifyLine('{"run":"r","metrics":{"accuracy":1}}')?.kind, 'data');
    assert.equal(classifyLine('{"v":2,"time":"t","type":"step"}')?.kind, 'data', 'another format version is not read as events');
    assert.equal(classifyLine('{"v":1,"time":"t","type":"frobnicate"}')?.kind, 'data');
    assert.equal(classifyLine('[W:onnxruntime] some warning')?.kind, 'text');
    assert.equal(classifyLine('{"torn": ')?.kind, 'text');
    assert.equal(classifyLine('   '), undefined);
  });
});

describe('cli arguments', () => {
  test('train and sweep always get --events and --runs; threads and device only when set', () => {
    assert.deepEqual(cliArgs({ command: 'train', file: '/w/a b.adapter.yaml' }, { runsDir: '/w/runs', threads: undefined, device: 'auto' }), ['train', '/w/a b.adapter.yaml', '--events', '--runs', '/w/runs']);
    assert.deepEqual(cliArgs({ command: 'sweep', file: 'f', maxSteps: 3 }, { runsDir: 'r', threads: 4, device: 'cuda' }), ['sweep', 'f', '--events', '--runs', 'r', '--max-steps', '3', '--threads', '4', '--device', 'cuda']);
    assert.deepEqual(cliArgs({ command: 'sweep', file: 'f' }, { runsDir: 'r', threads: undefined, device: 'auto', sweepWorkers: 2 }), ['sweep', 'f', '--events', '--runs', 'r', '--workers', '2']);
    assert.deepEqual(cliArgs({ command: 'ablate', runDir: 'run', mode: 'drop-curve' }, { runsDir: 'r', threads: undefined, device: 'auto' }), ['ablate', 'run', '--events', '--drop-curve']);
    assert.deepEqual(cliArgs({ command: 'evaluate', runDir: 'run', data: 'd.tsv' }, { runsDir: 'r', threads: 2, device: 'cpu' }), ['evaluate', 'run', 'd.tsv', '--threads', '2', '--device', 'cpu']);
    assert.deepEqual(cliArgs({ command: 'export-onnx', runDir: 'run', file: 'm.onnx' }, { runsDir: 'r', threads: undefined, device: 'auto' }), ['export', 'run', '--onnx', 'm.onnx']);
    assert.deepEqual(cliArgs({ command: 'export-adapter', runDir: 'run', dir: 'out' }, { runsDir: 'r', threads: undefined, device: 'auto' }), ['export', 'run', '--adapter', 'out']);
    assert.deepEqual(cliArgs({ command: 'export-adapter', runDir: 'run', dir: 'out', force: true }, { runsDir: 'r', threads: undefined, device: 'auto' }), ['export', 'run', '--adapter', 'out', '--force']);
  });
});

describe('JobProcess with the real CLI', () => {
  let ws: Workspace;
  before(() => {
    assert.ok(fs.existsSync(CLI), 'dist/cli.js is built');
    ws = tinyWorkspace();
    ws.write('tiny.adapter.yaml', tinyExperiment());
    ws.write('long.adapter.yaml', tinyExperiment(400));
  });
  after(() => ws.dispose());

  test('train: events arrive parsed and in order, and the job completes', async () => {
    const runs = ws.path('runs-train');
    const { exit, events, logs } = await runJob(['train', 'tiny.adapter.yaml', '--events', '--max-steps', '5', '--runs', runs], ws.root);
    assert.equal(exit.outcome, 'completed', logs.join('\n'));
    assert.equal(exit.code, 0);
    assert.equal(events[0]!.type, 'start');
    assert.equal(events[events.length - 1]!.type, 'end');
    const steps = events.filter((e) => e.type === 'step');
    assert.deepEqual(steps.map((e) => e.type === 'step' && e.step), [1, 2, 3, 4, 5]);
    const types = events.map((e) => e.type).filter((t) => t !== 'log');
    assert.deepEqual(types, ['start', 'step', 'step', 'step', 'step', 'step', 'evaluation', 'artifact', 'end']);
    const start = events[0]!;
    assert.ok(start.type === 'start' && start.job === 'train' && start.runDir.startsWith(runs));
    assert.ok(logs.some((l) => /completed after 5 steps/.test(l)), 'standard error reaches the log');
  });

  test('cancel: SIGTERM to the group ends the run cancelled (exit 130) and leaves no process behind', async () => {
    const runs = ws.path('runs-cancel');
    let cancelledAt = 0;
    const { job, exit, events } = await runJob(['train', 'long.adapter.yaml', '--events', '--runs', runs], ws.root, (e, j) => {
      if (e.type === 'step' && e.step === 3) {
        cancelledAt = e.step;
        j.cancel();
      }
    });
    assert.equal(cancelledAt, 3);
    assert.equal(exit.code, EXIT_CANCELLED);
    assert.equal(exit.outcome, 'cancelled');
    assert.equal(job.cancelled, true);
    const end = events[events.length - 1]!;
    assert.ok(end.type === 'end' && end.status === 'cancelled');
    const [dir] = fs.readdirSync(runs);
    const status = JSON.parse(fs.readFileSync(path.join(runs, dir!, 'status.json'), 'utf8')) as { status: string; step: number };
    assert.equal(status.status, 'cancelled');
    assert.ok(status.step >= 3 && status.step < 400 * 8 - 1);
    if (process.platform !== 'win32') assert.equal(groupAlive(job.pid!), false, 'the process group is gone');
  });

  test('a command that does not stream events: its JSON result arrives as data', async () => {
    const runs = ws.path('runs-eval');
    const trained = await runJob(['train', 'tiny.adapter.yaml', '--events', '--max-steps', '2', '--runs', runs], ws.root);
    const start = trained.events[0]!;
    assert.ok(start.type === 'start' && start.job === 'train');
    const { exit, data, events } = await runJob(cliArgs({ command: 'evaluate', runDir: start.runDir, data: ws.path('dev.tsv') }, { runsDir: runs, threads: undefined, device: 'auto' }), ws.root);
    assert.equal(exit.outcome, 'completed');
    assert.equal(events.length, 0);
    const result = data[0] as { examples: number; metrics: Record<string, number> };
    assert.equal(result.examples, 20);
    assert.equal(typeof result.metrics.accuracy, 'number');
  });

  test('export --adapter writes the adapter folder (a job without events)', async () => {
    const runs = ws.path('runs-export');
    const trained = await runJob(['train', 'tiny.adapter.yaml', '--events', '--max-steps', '2', '--runs', runs], ws.root);
    const start = trained.events[0]!;
    assert.ok(start.type === 'start' && start.job === 'train');
    const out = ws.path('exported-adapter');
    const { exit, logs } = await runJob(cliArgs({ command: 'export-adapter', runDir: start.runDir, dir: out }, { runsDir: runs, threads: undefined, device: 'auto' }), ws.root);
    assert.equal(exit.outcome, 'completed', logs.join('\n'));
    assert.ok(fs.readdirSync(out).length > 0);
  });

  test('a usage error fails with the exit code and nothing parsed as an end', async () => {
    const { exit, events } = await runJob(['train', 'missing.adapter.yaml', '--events', '--runs', ws.path('runs-none')], ws.root);
    assert.equal(exit.outcome, 'failed');
    assert.equal(exit.code, 2);
    assert.equal(events.length, 0);
    assert.match(exit.message ?? '', /exited with code 2/);
  });

  test('an executable that cannot start fails without throwing', async () => {
    const job = JobProcess.start({ cli: CLI, args: ['--version'], execPath: path.join(ws.root, 'no-such-node') });
    const exit = await job.exited;
    assert.equal(exit.outcome, 'failed');
    assert.match(exit.message ?? '', /could not start the engine/);
  });
});
