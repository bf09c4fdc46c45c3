/** What every panel implements; main.ts owns the models and calls render once per frame at most. */
import type { HostToPanel } from '../../src/panelProtocol';
import type { JobModel } from '../state';

export interface Panel {
  readonly root: HTMLElement;
  /** Redraws from the models (all of them; folding already happened). */
  render(jobs: readonly JobModel[]): void;
  /** Answers from the host to what the panel asked (besides `init` and `events`, which main.ts folds). */
  receive?(message: HostToPanel): void;
}

/** The panel's title, read when an export is named (the host may retitle the panel). */
export type TitleSource = () => string;
