/**
 * A training job's trainer in a process of its own.
 *
 * onnxruntime-node runs a session synchronously on the thread that calls it, so while a
 * training step runs (5+ s on the BERT-base shape) nothing else in that process does: not
 * even a SIGTERM handler. (A worker thread does not help: a process cannot exit while one of
 * its threads is inside a native call.) The job therefore keeps its logic, its events and
 * every file of the run folder in its own process and sends the trainer's work here; to
 * cancel, it stops waiting and kills this process, which never writes into the run folder
 * except checkpoints (atomically, when asked).
 *
 * The host rebuilds the base model from its reference (the model folder or built-in name,
 * as the job did) and receives only the weights the job changed (new adapters, the head),
 * so a BERT-base model is not copied through the channel.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { openSafetensors, writeSafetensors } from '../checkpoint/safetensors';
import type { ModelSpec } from '../model/bert';
import { loadModel, type ModelSource } from '../checkpoint/baseModel';
import type { FloatTensor } from '../tensor';
import type { IndexedBatch } from '../tasks/batches';
import type { LogitsSource } from '../tasks/index';
import type { AveragedFusionWeights } from '../model/fusionWeights';
import { NonFiniteLossError, Trainer, type StepResult, type TrainerOptions } from './trainer';
import type { OptimizerSpec } from './trainingGraph';

export interface TrainerSetup {
  /** What `loadModel` reads: the base model's folder, built-in name or declared shape. */
  readonly modelRef: ModelSource;
  /** Weights that are not the base model's own (new adapters, the head), by name. */
  readonly overrides: ReadonlyMap<string, FloatTensor>;
  readonly spec: ModelSpec;
  readonly trainable: readonly string[];
  readonly optimizer: OptimizerSpec;
  readonly session: TrainerOptions;
}

type Request =
  | { readonly op: 'create'; readonly setup: TrainerSetup }
  | { readonly op: 'restore'; readonly file: string }
  | { readonly op: 'step'; readonly batch: IndexedBatch; readonly gates: Float32Array | undefined }
  | { readonly op: 'logits'; readonly batch: IndexedBatch; readonly gates: Float32Array | undefined }
  | { readonly op: 'weights'; readonly names: readonly string[] }
  | { readonly op: 'fusionWeights' }
  | { readonly op: 'checkpoint'; readonly file: string; readonly metadata: Readonly<Record<string, string>> };

type Envelope = Request & { readonly id: number };

interface SentError {
  readonly name: string;
  readonly message: string;
  readonly step?: number;
  readonly loss?: number;
}

type Reply = { readonly id: number; readonly ok: true; readonly value: unknown } | { readonly id: number; readonly ok: false; readonly error: SentError };

/** Set in the host's environment to the file that serves it (the module, or the bundle holding it). */
const HOST_ENV = 'ADAPTER_LAB_TRAINER_HOST';

export class TrainerProcess implements LogitsSource {
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private next = 0;
  private stepCount = 0;
  private gone: Error | undefined;
  /** Set once release() waits for the host to exit: from then on the job's process must stay up. */
  private releasing = false;

  private constructor(private readonly child: ChildProcess) {
    // Idle, the host keeps nothing of the job's alive: a job that ends without releasing it
    // still exits, and the host follows when its channel closes.
    this.hold(false);
    child.on('message', (reply: Reply) => {
      const p = this.pending.get(reply.id);
      if (!p) return;
      this.pending.delete(reply.id);
      if (this.pending.size === 0) this.hold(false);
      if (reply.ok) p.resolve(reply.value);
      else p.reject(errorFrom(reply.error));
    });
    child.on('exit', (code, signal) => {
      this.gone ??= new Error(`the training process stopped (${signal ?? `exit code ${code}`})`);
      for (const p of this.pending.values()) p.reject(this.gone);
      this.pending.clear();
    });
    child.on('error', (e) => {
      this.gone ??= new Error(`the training process could not run: ${e.message}`);
      for (const p of this.pending.values()) p.reject(this.gone);
      this.pending.clear();
    });
  }

  /** Starts a host process; `create` builds the trainer in it. */
  static spawn(): TrainerProcess {
    const child = spawn(process.execPath, ['-e', `require(${JSON.stringify(__filename)})`], {
      env: { ...process.env, [HOST_ENV]: __filename },
      // Standard output is the job's event stream: the host never writes to it.
      stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
      serialization: 'advanced',
      windowsHide: true,
    });
    return new TrainerProcess(child);
  }

  /** Builds the trainer's sessions (the training step and the forward pass) in the host. */
  async create(setup: TrainerSetup): Promise<void> {
    await this.call({ op: 'create', setup });
  }

  /** Optimizer steps taken (restored from a checkpoint, plus those run here). */
  get steps(): number {
    return this.stepCount;
  }

  /** Whether a call is in flight: one the job stopped waiting for when it was cancelled. */
  get busy(): boolean {
    return this.pending.size > 0;
  }

  /** Restores trainable parameters, Adam moments and the step from a checkpoint file (read by the host). */
  async restore(file: string, steps: number): Promise<void> {
    await this.call({ op: 'restore', file });
    this.stepCount = steps;
  }

  async step(batch: IndexedBatch, gates?: Float32Array): Promise<StepResult> {
    const r = (await this.call({ op: 'step', batch: portable(batch), gates })) as StepResult;
    this.stepCount++;
    return r;
  }

  async logits(batch: IndexedBatch, gates?: Float32Array): Promise<{ data: Float32Array; shape: readonly number[] }> {
    return (await this.call({ op: 'logits', batch: portable(batch), gates })) as { data: Float32Array; shape: readonly number[] };
  }

  /** The current values of trainable parameters. */
  async weights(names: readonly string[]): Promise<Map<string, FloatTensor>> {
    return (await this.call({ op: 'weights', names })) as Map<string, FloatTensor>;
  }

  /** The fusion's average weights over the logits calls since the last time (Trainer.takeFusionWeights). */
  async fusionWeights(): Promise<AveragedFusionWeights | undefined> {
    return (await this.call({ op: 'fusionWeights' })) as AveragedFusionWeights | undefined;
  }

  /** Writes trainable parameters and Adam moments to `file` (atomically), with `metadata`. */
  async checkpoint(file: string, metadata: Readonly<Record<string, string>>): Promise<void> {
    await this.call({ op: 'checkpoint', file, metadata });
  }

  /** Ends the host: at once when a call is in flight (its result is not wanted), else by closing the channel. */
  async release(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    // Waited for: what the job does after releasing (its status, its end event) must not be cut short,
    // not even by a reply still on its way, whose arrival would otherwise let the host go (hold).
    this.releasing = true;
    this.child.ref();
    if (this.busy || !this.child.connected) this.child.kill('SIGKILL');
    else this.child.disconnect();
    await exited;
  }

  /** While a call is waited for, the job's process must stay up for the reply; otherwise it need not. */
  private hold(on: boolean): void {
    if (!on && this.releasing) return;
    if (on) {
      this.child.ref();
      this.child.channel?.ref();
    } else {
      this.child.unref();
      this.child.channel?.unref();
    }
  }

  private call(request: Request): Promise<unknown> {
    if (this.gone) return Promise.reject(this.gone);
    const id = ++this.next;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.hold(true);
      this.child.send({ ...request, id } satisfies Envelope, (e) => {
        if (!e) return;
        this.pending.delete(id);
        if (this.pending.size === 0) this.hold(false);
        reject(this.gone ?? e);
      });
    });
  }
}

/** A batch as plain data: typed arrays and numbers (the channel copies it). */
function portable(batch: IndexedBatch): IndexedBatch {
  return { ...batch, indices: [...batch.indices] };
}

function errorFrom(e: SentError): Error {
  if (e.name === 'NonFiniteLossError' && e.step !== undefined && e.loss !== undefined) return new NonFiniteLossError(e.step, e.loss);
  const error = new Error(e.message);
  error.name = e.name;
  return error;
}

function errorOf(e: unknown): SentError {
  if (e instanceof NonFiniteLossError) return { name: 'NonFiniteLossError', message: e.message, step: e.step, loss: e.loss };
  return e instanceof Error ? { name: e.name, message: e.message } : { name: 'Error', message: String(e) };
}

/** The host's side: one trainer, requests answered in order. */
function serve(): void {
  const send = (reply: Reply): void => void process.send!(reply);
  // The job decides what a signal means (it is in the same process group): the host waits to be told or killed.
  process.on('SIGINT', () => undefined);
  process.on('SIGTERM', () => undefined);
  // The job is gone (done, or killed): nothing is waiting for this process any more.
  process.on('disconnect', () => process.exit(0));
  let trainer: Trainer | undefined;
  let queue = Promise.resolve();
  const handle = async (r: Request): Promise<unknown> => {
    if (r.op === 'create') {
      const model = loadModel(r.setup.modelRef);
      const weights = new Map(model.weights);
      for (const [name, t] of r.setup.overrides) weights.set(name, t);
      trainer = await Trainer.create(r.setup.spec, weights, r.setup.trainable, r.setup.optimizer, r.setup.session);
      return undefined;
    }
    if (!trainer) throw new Error('the trainer has not been created');
    switch (r.op) {
      case 'restore': {
        const f = openSafetensors(r.file);
        try {
          const state = new Map<string, FloatTensor>();
          for (const info of f.tensors) state.set(info.name, f.readFloat(info.name));
          trainer.restore(state, Number(f.metadata?.step ?? 0));
        } finally {
          f.close();
        }
        return undefined;
      }
      case 'step':
        return trainer.step(r.batch, r.gates);
      case 'logits':
        return trainer.logits(r.batch, r.gates);
      case 'weights':
        return new Map(r.names.map((n) => [n, trainer!.weight(n)]));
      case 'fusionWeights':
        return trainer.takeFusionWeights();
      case 'checkpoint':
        writeSafetensors(r.file, trainer.snapshot(), r.metadata);
        return undefined;
    }
  };
  process.on('message', (m: Envelope) => {
    queue = queue.then(() =>
      handle(m).then(
        (value) => send({ id: m.id, ok: true, value }),
        (e: unknown) => send({ id: m.id, ok: false, error: errorOf(e) }),
      ),
    );
  });
}

if (process.env[HOST_ENV] === __filename && typeof process.send === 'function') serve();
