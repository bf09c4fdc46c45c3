/**
 * Human output for jobs on standard error: a progress bar redrawn in place on a terminal,
 * plain lines (start, every tenth of the run, evaluations, end) otherwise. Jobs nest (a
 * sweep's trials, drop-regimes' runs and curves), so what an `end` counts is the unit of
 * the `start` it closes.
 */
import type { EngineEvent } from '../events';

export function progressPrinter(stream: NodeJS.WriteStream = process.stderr): (e: EngineEvent) => void {
  const tty = Boolean(stream.isTTY);
  let total = 0;
  let lastPrinted = 0;
  let started = Date.now();
  let tokens = 0;
  /** The unit of each open start, innermost last. */
  const units: string[] = [];
  const clear = (): void => {
    if (tty) stream.write('\r\x1b[2K');
  };
  return (e) => {
    switch (e.type) {
      case 'start':
        switch (e.job) {
          case 'sweep':
            units.push('trials');
            stream.write(`sweep ${e.sweep}: ${e.trials} trials${e.skipped ? ` (${e.skipped} already done, skipped)` : ''}, selected on ${e.metric}\n  sweep folder ${e.sweepDir}\n`);
            break;
          case 'ablate':
          case 'drop-curve':
            units.push('cells');
            total = e.cells;
            lastPrinted = 0;
            started = Date.now();
            stream.write(`${e.job === 'drop-curve' ? 'AdapterDrop curve of' : 'ablating'} ${e.run}: ${e.cells} cells on ${e.examples} examples (${e.metric})\n`);
            break;
          case 'drop-regimes':
            units.push('runs');
            stream.write(`AdapterDrop regimes (standard, robust, specialized n = ${e.specialized.join(', ')}): ${e.runs} training runs, compared on ${e.metric}\n  folder ${e.runDir}\n`);
            break;
          case 'train':
            units.push('steps');
            total = e.steps;
            lastPrinted = 0;
            tokens = 0;
            started = Date.now();
            stream.write(`${e.experiment}: ${e.method} on ${e.model}, ${e.parameters.trainable.toLocaleString('en-US')} trainable parameters (${e.parameters.percentOfBase.toFixed(2)}% of ${e.parameters.base.toLocaleString('en-US')}), ${e.examples} examples, ${e.steps} steps, ${e.threads} threads\n  run folder ${e.runDir}\n`);
            break;
          case 'import':
            units.push('steps');
            break;
          case 'evaluate':
          case 'predict':
          case 'multitask':
            units.push('examples');
            break;
          case 'export':
            units.push('files');
            break;
        }
        break;
      case 'step': {
        tokens += e.tokens;
        const elapsed = (Date.now() - started) / 1000;
        const eta = e.step > 0 ? (elapsed / e.step) * (total - e.step) : 0;
        const line = `step ${e.step}/${total}  epoch ${e.epoch}  loss ${e.loss.toFixed(4)}  lr ${e.lr.toExponential(2)}  ${(tokens / Math.max(elapsed, 1e-9)).toFixed(0)} tokens/s  ETA ${formatSeconds(eta)}`;
        if (tty) {
          const width = 24;
          const filled = Math.round((width * e.step) / Math.max(total, 1));
          clear();
          stream.write(`[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${line}`);
        } else if (e.step === total || e.step - lastPrinted >= Math.max(1, Math.floor(total / 10))) {
          stream.write(`  ${line}\n`);
          lastPrinted = e.step;
        }
        break;
      }
      case 'evaluation':
        clear();
        if (e.split === 'data') stream.write(`  ${e.task ? `${e.task}: ` : ''}${e.metric} ${e.value.toFixed(4)} (${e.examples} examples)\n`);
        else stream.write(`  epoch ${e.epoch} ${e.split} ${e.metric} ${e.value.toFixed(4)} (${e.examples} examples)\n`);
        break;
      case 'comparison':
        clear();
        stream.write(`  one pass per task: ${e.separateSeconds.toFixed(2)} s; multi-task inference: ${e.sharedSeconds.toFixed(2)} s (${e.speedup.toFixed(2)}× as fast)\n`);
        break;
      case 'log':
        clear();
        stream.write(`  ${e.level === 'warning' ? 'warning: ' : ''}${e.message}\n`);
        break;
      case 'error':
        clear();
        stream.write(`error: ${e.message}\n`);
        break;
      case 'end': {
        clear();
        const unit = units.pop() ?? 'steps';
        stream.write(`${e.status} after ${e.steps} ${unit} in ${formatSeconds(e.seconds)}${Object.keys(e.metrics).length ? ': ' + Object.entries(e.metrics).map(([k, v]) => `${k} ${v.toFixed(4)}`).join(', ') : ''}\n`);
        break;
      }
      case 'ablation': {
        const site = e.site === 'both' ? '' : ` (${e.site})`;
        const line = `cell ${e.index + 1}/${e.total}: layers ${e.from}..${e.to}${site} removed → ${e.metric} ${e.value.toFixed(4)}`;
        if (tty) {
          clear();
          stream.write(line);
        } else if (e.index + 1 === e.total || e.index + 1 - lastPrinted >= Math.max(1, Math.floor(total / 10))) {
          stream.write(`  ${line}\n`);
          lastPrinted = e.index + 1;
        }
        break;
      }
      case 'trial-start':
        clear();
        stream.write(`trial ${e.index + 1}/${e.total}: ${Object.entries(e.assignments).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(' ')} seed=${e.seed}\n`);
        break;
      case 'trial-end':
        clear();
        stream.write(`trial ${e.index + 1}/${e.total} ${e.status}${Object.keys(e.metrics).length ? ': ' + Object.entries(e.metrics).map(([k, v]) => `${k} ${v.toFixed(4)}`).join(', ') : ''}${e.message ? ` (${e.message})` : ''}\n`);
        break;
      case 'trial-state':
        clear();
        stream.write(`trial ${e.index + 1}/${e.total} ${e.state.replace(/-/g, ' ')}${e.job ? ` (Slurm ${e.job}${e.node ? ` on ${e.node}` : ''}${e.reason ? `, ${e.reason}` : ''})` : ''}\n`);
        break;
      case 'artifact':
        break;
    }
  };
}

function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '?';
  const m = Math.floor(s / 60);
  const sec = Math.round(s % 60);
  return m > 0 ? `${m}m${String(sec).padStart(2, '0')}s` : `${sec}s`;
}
