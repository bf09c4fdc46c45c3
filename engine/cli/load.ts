/**
 * Loading an experiment file for a command: read it, validate it, and refuse it with
 * located findings when it has errors. Every engine command starts here.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { formatFinding, validateExperiment, type Validation } from '../config';

export type Loaded =
  | { readonly ok: true; readonly file: string; readonly text: string; readonly validation: Validation }
  | { readonly ok: false; readonly file: string; readonly message: string; readonly validation?: Validation; readonly text?: string };

/** `runsDir`: where `fusion.adapters` finds experiments by name (the command's --runs); default beside the file. */
export function loadExperimentFile(file: string, runsDir?: string): Loaded {
  const abs = path.resolve(file);
  let text: string;
  try {
    text = fs.readFileSync(abs, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    const reason = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a folder' : ((e as Error).message ?? 'unreadable');
    return { ok: false, file, message: `${file}: error: cannot read the experiment file (${reason})` };
  }
  const validation = validateExperiment(text, { filePath: abs, ...(runsDir ? { runsDir } : {}) });
  if (!validation.ok) return { ok: false, file, message: `${file}: error: the experiment has errors; fix them first`, validation, text };
  return { ok: true, file, text, validation };
}

/** Findings as compiler-style lines, relative to the working directory. */
export function findingLines(file: string, text: string, validation: Validation): string[] {
  return validation.findings.map((f) => formatFinding(file, text, f));
}
