/**
 * Where the integration suite's VS Code can draw its window. On Linux it needs an X or
 * Wayland display; without one it runs under `xvfb-run` when that is installed, and is
 * skipped with the reason otherwise (a headless CI machine without xvfb is not a failure of
 * the extension). macOS and Windows always have a display.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

export type DisplayPlan =
  /** Run VS Code directly. */
  | { readonly kind: 'direct' }
  /** Run this script again under xvfb-run (a virtual X display). */
  | { readonly kind: 'xvfb'; readonly xvfbRun: string }
  | { readonly kind: 'skip'; readonly reason: string };

/** Set on the run under xvfb-run, so a display that still does not appear is reported, not retried. */
export const UNDER_XVFB = 'ADAPTER_LAB_UNDER_XVFB';

export function displayPlan(platform: NodeJS.Platform, env: NodeJS.ProcessEnv, xvfbRun: string | undefined): DisplayPlan {
  if (platform !== 'linux') return { kind: 'direct' };
  if (env.DISPLAY || env.WAYLAND_DISPLAY) return { kind: 'direct' };
  if (env[UNDER_XVFB]) return { kind: 'skip', reason: 'xvfb-run started no display (DISPLAY is still unset)' };
  if (xvfbRun) return { kind: 'xvfb', xvfbRun };
  return { kind: 'skip', reason: 'no display to open VS Code in: DISPLAY and WAYLAND_DISPLAY are unset and xvfb-run is not installed (apt-get install xvfb, or run under a desktop session)' };
}

/** An executable named `name` on PATH, or undefined. */
export function onPath(name: string, pathVariable = process.env.PATH ?? ''): string | undefined {
  for (const dir of pathVariable.split(path.delimiter).filter(Boolean)) {
    const file = path.join(dir, name);
    try {
      fs.accessSync(file, fs.constants.X_OK);
      if (fs.statSync(file).isFile()) return file;
    } catch {
      // not here
    }
  }
  return undefined;
}
