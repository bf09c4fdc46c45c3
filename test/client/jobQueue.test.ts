/** The job queue: at most N jobs at once, in order; a job cancelled while queued never starts. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { cliArgs } from '../../client/src/cliArgs';
import { JobProcess, type JobExit } from '../../client/src/jobProcess';
import { JobQueue, type StartedJob } from '../../client/src/jobQueue';
import { CLI, tinyExperiment, tinyWorkspace } from './support';

/** A job that runs until the test ends it. */
class FakeJob implements StartedJob {
  readonly pid = 1;
  readonly exited: Promise<JobExit>;
  cancelled = false;
  private settle!: (e: JobExit) => void;
  constructor() {
    this.exited = new Promise((r) => (this.settle = r));
  }
  cancel(): void {
    this.cancelled = true;
    this.finish('cancelled');
  }
  finish(outcome: JobExit['outcome']): void {
    this.settle({ outcome, code: outcome === 'completed' ? 0 : outcome === 'cancelled' ? 130 : 1, signal: null });
  }
}

const tick = () => new Promise((r) => setImmediate(r));

describe('JobQueue', () => {
  test('runs at most the limit at once, in submission order', async () => {
    const queue = new JobQueue<string>(2);
    const started: string[] = [];
    const fakes = new Map<string, FakeJob>();
    let maxRunning = 0;
    queue.onDidChange(() => (maxRunning = Math.max(maxRunning, queue.runningCount)));
    const jobs = ['a', 'b', 'c', 'd', 'e'].map((name) =>
      queue.submit(name, () => {
        started.push(name);
        const f = new FakeJob();
        fakes.set(name, f);
        return f;
      }),
    );
    assert.deepEqual(started, ['a', 'b']);
    assert.deepEqual(jobs.map((j) => j.state.phase), ['running', 'running', 'queued', 'queued', 'queued']);
    fakes.get('b')!.finish('completed');
    await tick();
    assert.deepEqual(started, ['a', 'b', 'c']);
    fakes.get('a')!.finish('failed');
    fakes.get('c')!.finish('completed');
    await tick();
    assert.deepEqual(started, ['a', 'b', 'c', 'd', 'e']);
    fakes.get('d')!.finish('completed');
    fakes.get('e')!.finish('completed');
    const exits = await Promise.all(jobs.map((j) => j.finished));
    assert.deepEqual(exits.map((e) => e.outcome), ['failed', 'completed', 'completed', 'completed', 'completed']);
    assert.equal(maxRunning, 2);
    assert.equal(queue.jobs().length, 0);
  });

  test('a job whose work runs on a cluster takes no slot: it starts at once, and local jobs keep their order and limit', async () => {
    const queue = new JobQueue<string>(1);
    const started: string[] = [];
    const fakes = new Map<string, FakeJob>();
    const submit = (name: string, unlimited = false) =>
      queue.submit(name, () => {
        started.push(name);
        const f = new FakeJob();
        fakes.set(name, f);
        return f;
      }, { unlimited });
    submit('train');
    submit('ablate');
    const follow = submit('follow-on-slurm', true);
    assert.deepEqual(started, ['train', 'follow-on-slurm'], 'the cluster job starts while a local one waits');
    assert.equal(follow.state.phase, 'running');
    assert.equal(queue.runningCount, 1, 'only the local job counts');
    fakes.get('train')!.finish('completed');
    await tick();
    assert.deepEqual(started, ['train', 'follow-on-slurm', 'ablate']);
    fakes.get('ablate')!.finish('completed');
    fakes.get('follow-on-slurm')!.finish('completed');
    await Promise.all(queue.jobs().map((j) => j.finished));
    assert.equal(queue.jobs().length, 0);
  });

  test('a job cancelled while queued never starts; a running one is asked to stop', async () => {
    const queue = new JobQueue<string>(1);
    const started: string[] = [];
    const fakes: FakeJob[] = [];
    const make = (name: string) => () => {
      started.push(name);
      const f = new FakeJob();
      fakes.push(f);
      return f;
    };
    const first = queue.submit('first', make('first'));
    const second = queue.submit('second', make('second'));
    const third = queue.submit('third', make('third'));
    second.cancel();
    assert.equal(second.state.phase, 'finished');
    assert.equal((await second.finished).outcome, 'cancelled');
    first.cancel();
    assert.equal(fakes[0]!.cancelled, true);
    assert.equal((await first.finished).outcome, 'cancelled');
    await tick();
    assert.deepEqual(started, ['first', 'third']);
    fakes[1]!.finish('completed');
    assert.equal((await third.finished).outcome, 'completed');
  });

  test('raising the limit starts waiting jobs; a start that throws fails that job only', async () => {
    const queue = new JobQueue<number>(1);
    const fakes: FakeJob[] = [];
    const start = () => {
      const f = new FakeJob();
      fakes.push(f);
      return f;
    };
    queue.submit(1, start);
    const broken = queue.submit(2, () => {
      throw new Error('spawn failed');
    });
    queue.submit(3, start);
    assert.equal(queue.runningCount, 1);
    queue.setLimit(3);
    assert.equal(broken.state.phase, 'finished');
    assert.equal((await broken.finished).message, 'spawn failed');
    assert.equal(queue.runningCount, 2);
    queue.cancelAll();
    await tick();
    assert.equal(queue.jobs().length, 0);
  });

  test('with the real CLI: two jobs at limit 1 never overlap, and a queued one cancelled leaves no run', async () => {
    const ws = tinyWorkspace();
    try {
      ws.write('tiny.adapter.yaml', tinyExperiment());
      const runs = ws.path('runs');
      const settings = { runsDir: runs, threads: 1, device: 'auto' as const };
      const queue = new JobQueue<string>(1);
      let running = 0;
      let overlap = false;
      const start = () => {
        running++;
        if (running > 1) overlap = true;
        const job = JobProcess.start({ cli: CLI, args: cliArgs({ command: 'train', file: ws.path('tiny.adapter.yaml'), maxSteps: 3 }, settings), cwd: ws.root });
        void job.exited.then(() => running--);
        return job;
      };
      const a = queue.submit('a', start);
      const b = queue.submit('b', start);
      const c = queue.submit('c', start);
      c.cancel();
      const exits = await Promise.all([a.finished, b.finished, c.finished]);
      assert.deepEqual(exits.map((e) => e.outcome), ['completed', 'completed', 'cancelled']);
      assert.equal(overlap, false);
      const fs = await import('node:fs');
      assert.equal(fs.readdirSync(runs).length, 2, 'the cancelled queued job made no run');
    } finally {
      ws.dispose();
    }
  });
});
