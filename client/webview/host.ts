/**
 * The channel to the extension host: VS Code's webview API, acquired once (a second call
 * throws). Outside VS Code (a plain browser) the panel still draws; messages go nowhere.
 */
import type { PanelState, PanelToHost } from '../src/panelProtocol';

interface VsCodeApi {
  postMessage(message: unknown): void;
  getState(): unknown;
  setState(state: unknown): void;
}

declare const acquireVsCodeApi: (() => VsCodeApi) | undefined;

const api: VsCodeApi =
  typeof acquireVsCodeApi === 'function'
    ? acquireVsCodeApi()
    : { postMessage: () => undefined, getState: () => undefined, setState: () => undefined };

export function post(message: PanelToHost): void {
  api.postMessage(message);
}

/** What the host's serializer gets back after a window reload. */
export function saveState(state: PanelState): void {
  api.setState(state);
}

export function loadState(): PanelState | undefined {
  const s = api.getState() as Partial<PanelState> | undefined;
  return s && typeof s === 'object' && typeof s.kind === 'string' && typeof s.title === 'string' && Array.isArray(s.ids) ? (s as PanelState) : undefined;
}
