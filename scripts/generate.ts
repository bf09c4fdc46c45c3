// Writes (with --write) or checks the generated files: the JSON Schema and the key
// reference in docs/config.md. Both come from engine/config/schema.ts.
import * as fs from 'node:fs';
import * as path from 'node:path';
import { experimentJsonSchema } from '../engine/config/jsonSchema';
import { withReference } from '../engine/config/reference';

const root = path.resolve(__dirname, '..');
const targets: { file: string; make: (current: string) => string }[] = [
  { file: 'schemas/adapter-experiment.schema.json', make: () => JSON.stringify(experimentJsonSchema(), null, 2) + '\n' },
  { file: 'docs/config.md', make: (current) => withReference(current) },
];

let stale = 0;
for (const { file, make } of targets) {
  const full = path.join(root, file);
  const current = fs.existsSync(full) ? fs.readFileSync(full, 'utf8') : '';
  const next = make(current);
  if (next === current) continue;
  if (process.argv.includes('--write')) fs.writeFileSync(full, next);
  else {
    console.error(`${file} is out of date: run npm run build`);
    stale++;
  }
}
process.exit(stale ? 1 : 0);
