/**
 * Files that ship with the engine (the built-in model's folder, the examples' data), found
 * by walking up from the engine's code: it runs from `dist/` when bundled (the repository
 * or the installed extension), and from `out/engine/<folder>/` under tests.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** The absolute path of `relative` (e.g. `models/english-bert/config.json`) at the nearest root that has it. */
export function findShipped(relative: string): string | undefined {
  for (let dir = __dirname, i = 0; i < 6; i++) {
    const candidate = path.join(dir, relative);
    if (fs.existsSync(candidate)) return candidate;
    const up = path.dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return undefined;
}
