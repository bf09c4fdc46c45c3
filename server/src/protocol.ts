/**
 * The contract between the extension and the language server beyond standard LSP: the
 * command ids that code lenses carry (the extension implements them) and the setting the
 * server reads through `workspace/configuration`.
 */
export const Commands = {
  train: 'adapterLab.train',
  runSweep: 'adapterLab.runSweep',
  runAblation: 'adapterLab.runAblation',
} as const;

export type CommandId = (typeof Commands)[keyof typeof Commands];

/** The language id and file patterns of experiment files. */
export const LANGUAGE_ID = 'adapter-yaml';
export const FILE_GLOBS = ['**/*.adapter.yaml', '**/*.adapter.yml'] as const;

/** The extension's settings section, and the setting that names the runs folder (read by both sides). */
export const SETTINGS_SECTION = 'adapterLab';
export const RUNS_DIRECTORY_KEY = 'runsDirectory';
