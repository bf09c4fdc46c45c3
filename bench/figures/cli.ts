/**
 * Documentation figures from a JSON file, by hand:
 *
 *   node out/bench/figures/cli.js --spec figures.json --out docs/figures
 *
 * The file holds an array of FigureSpec (render.ts); JSON has no functions, so no point titles.
 */
import * as fs from 'node:fs';
import { arg } from '../args';
import { writeFigures, type FigureSpec } from './render';

async function main(): Promise<void> {
  const spec = arg('spec', '');
  const out = arg('out', '');
  if (!spec || !out) throw new Error('usage: node out/bench/figures/cli.js --spec figures.json --out DIR');
  const figures: unknown = JSON.parse(fs.readFileSync(spec, 'utf8'));
  if (!Array.isArray(figures) || !figures.every((f) => typeof f === 'object' && f !== null && 'kind' in f && 'name' in f)) {
    throw new Error(`${spec}: expected an array of figures ({ "kind": "line" | "heatmap", "name": …, … })`);
  }
  for (const file of await writeFigures(out, figures as FigureSpec[])) console.log(file);
}

main().catch((e: unknown) => {
  console.error(e instanceof Error ? e.message : String(e));
  process.exitCode = 1;
});
