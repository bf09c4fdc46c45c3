/** Benchmark options: `--name value` on the command line, with a default. */
const argv = process.argv.slice(2);

export function arg(name: string, fallback: string): string {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 && argv[i + 1] ? argv[i + 1]! : fallback;
}
