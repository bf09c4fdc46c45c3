/**
 * The manifest's commands and menus: every command the extension brief names is contributed
 * with its title in the "Adapter Lab" category, reachable from the command palette and from
 * the editor title of experiment files (the frequent ones as icons, the rest in the "…"
 * overflow), and registered by the extension.
 */
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { describe, test } from 'node:test';
import { REPO_ROOT } from '../support/lspClient';

interface CommandContribution {
  readonly command: string;
  readonly title: string;
  readonly category?: string;
  readonly icon?: string;
}

interface MenuItem {
  readonly command: string;
  readonly when?: string;
  readonly group?: string;
}

interface Manifest {
  readonly contributes: {
    readonly commands: readonly CommandContribution[];
    readonly menus: Readonly<Record<string, readonly MenuItem[]>>;
    readonly walkthroughs: readonly { readonly steps: readonly { readonly description: string }[] }[];
  };
}

const manifest = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as Manifest;
const commandsSource = fs.readFileSync(path.join(REPO_ROOT, 'client', 'src', 'commands.ts'), 'utf8') + fs.readFileSync(path.join(REPO_ROOT, 'server', 'src', 'protocol.ts'), 'utf8');

/** The commands the extension brief asks for (plus the AdapterDrop regimes), with their titles. */
const EXPERIMENT_COMMANDS: Readonly<Record<string, string>> = {
  'adapterLab.train': 'Train',
  'adapterLab.runSweep': 'Run Sweep',
  'adapterLab.evaluate': 'Evaluate',
  'adapterLab.runAblation': 'Run Ablation',
  'adapterLab.dropCurve': 'AdapterDrop Curve',
  'adapterLab.dropRegimes': 'AdapterDrop Regimes',
  'adapterLab.exportOnnx': 'Export ONNX',
  'adapterLab.exportAdapter': 'Export Adapter Folder',
  'adapterLab.stopJob': 'Stop Job',
  'adapterLab.openResults': 'Open Results',
  'adapterLab.compareRuns': 'Compare Runs',
};

/** Shown as icons in the editor title; everything else goes to the "…" menu. */
const TITLE_ICONS = new Set(['adapterLab.train', 'adapterLab.stopJob']);

const EXPERIMENT_FILE = /\bresourceLangId == adapter-yaml\b/;

describe('package.json contributes', () => {
  const byId = new Map(manifest.contributes.commands.map((c) => [c.command, c]));
  const palette = manifest.contributes.menus.commandPalette ?? [];
  const editorTitle = manifest.contributes.menus['editor/title'] ?? [];

  test('every experiment command is contributed with its title in the Adapter Lab category', () => {
    for (const [id, title] of Object.entries(EXPERIMENT_COMMANDS)) {
      const c = byId.get(id);
      assert.ok(c, `${id} is contributed`);
      assert.equal(c.title, title, id);
      assert.equal(c.category, 'Adapter Lab', id);
    }
  });

  test('none of them is hidden from the command palette', () => {
    for (const id of Object.keys(EXPERIMENT_COMMANDS)) {
      const hidden = palette.filter((m) => m.command === id && m.when?.trim() === 'false');
      assert.deepEqual(hidden, [], `${id} is in the palette`);
    }
  });

  test('every one is in the editor title menu of experiment files; only Train and Stop Job as icons', () => {
    for (const id of Object.keys(EXPERIMENT_COMMANDS)) {
      const items = editorTitle.filter((m) => m.command === id);
      assert.equal(items.length, 1, `${id} appears once in editor/title`);
      const item = items[0]!;
      assert.match(item.when ?? '', EXPERIMENT_FILE, `${id} shows for adapter-yaml files only`);
      const inline = (item.group ?? '').startsWith('navigation');
      assert.equal(inline, TITLE_ICONS.has(id), `${id} is ${TITLE_ICONS.has(id) ? 'an icon' : 'in the overflow menu'} (group ${item.group})`);
      if (inline) assert.ok(byId.get(id)?.icon, `${id} has an icon for the title bar`);
    }
  });

  test('"Run Sweep on Slurm" is offered where sbatch is found (adapterLab.slurmAvailable) and hidden elsewhere', () => {
    assert.equal(byId.get('adapterLab.runSweepOnSlurm')?.title, 'Run Sweep on Slurm');
    assert.equal(byId.get('adapterLab.runSweepOnSlurm')?.category, 'Adapter Lab');
    const entries = Object.entries(manifest.contributes.menus).flatMap(([menu, items]) => items.filter((m) => m.command === 'adapterLab.runSweepOnSlurm').map((m) => [menu, m] as const));
    assert.deepEqual(entries.map(([menu]) => menu).sort(), ['commandPalette', 'editor/title']);
    for (const [menu, m] of entries) assert.match(m.when ?? '', /\badapterLab\.slurmAvailable\b/, `${menu} hides it without Slurm`);
    const extension = fs.readFileSync(path.join(REPO_ROOT, 'client', 'src', 'extension.ts'), 'utf8');
    assert.match(extension, /setContext', 'adapterLab\.slurmAvailable', /);
  });

  test('every menu entry names a contributed command, and every contributed command is registered', () => {
    for (const [menu, items] of Object.entries(manifest.contributes.menus)) {
      for (const m of items) assert.ok(byId.has(m.command), `${menu} names ${m.command}, which is contributed`);
    }
    for (const id of byId.keys()) assert.ok(commandsSource.includes(`'${id}'`), `${id} is registered in client/src/commands.ts`);
  });

  test('the walkthrough only links contributed commands (or the views it opens)', () => {
    const links = manifest.contributes.walkthroughs.flatMap((w) => w.steps.flatMap((s) => [...s.description.matchAll(/\(command:([\w.]+)\)/g)].map((m) => m[1]!)));
    assert.ok(links.length > 0);
    for (const id of links) assert.ok(byId.has(id) || /\.focus$/.test(id), `walkthrough links ${id}`);
  });
});
