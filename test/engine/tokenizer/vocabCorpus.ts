/** A generated English-like corpus for vocabulary training tests: Zipf-distributed words over a made-up lexicon. */
import { Random } from '../../../engine/util/random';

const SYLLABLES = ['ka', 'lo', 'mi', 'ne', 'ru', 'sa', 'to', 'vi', 'an', 'er', 'in', 'on', 'st', 'qu', 'bel', 'dor', 'fyn', 'gha', 'ix', 'jup', 'wez'];

export interface GeneratedCorpus {
  /** One paragraph per line. */
  readonly text: string;
  /** The lexicon, most frequent first (lower-case). */
  readonly lexicon: readonly string[];
}

/** `lines` paragraphs of about `wordsPerLine` words; word i of the lexicon is drawn with weight 1/(i+1). */
export function generatedCorpus(seed: number, lines: number, wordsPerLine = 12, lexiconSize = 400): GeneratedCorpus {
  const random = new Random(seed);
  const lexicon: string[] = [];
  const seen = new Set<string>();
  while (lexicon.length < lexiconSize) {
    const n = 1 + random.int(4);
    let w = '';
    for (let i = 0; i < n; i++) w += SYLLABLES[random.int(SYLLABLES.length)];
    if (!seen.has(w)) {
      seen.add(w);
      lexicon.push(w);
    }
  }
  const cumulative: number[] = [];
  let total = 0;
  for (let i = 0; i < lexicon.length; i++) cumulative.push((total += 1 / (i + 1)));
  const draw = (): string => {
    const x = random.next() * total;
    let lo = 0;
    let hi = cumulative.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cumulative[mid] < x) lo = mid + 1;
      else hi = mid;
    }
    return lexicon[lo];
  };
  const out: string[] = [];
  for (let l = 0; l < lines; l++) {
    const words: string[] = [];
    const n = wordsPerLine - 3 + random.int(7);
    for (let i = 0; i < n; i++) {
      let w = draw();
      if (i === 0 || random.next() < 0.05) w = w[0].toUpperCase() + w.slice(1);
      words.push(w + (random.next() < 0.1 ? ',' : ''));
    }
    out.push(words.join(' ') + '.');
  }
  return { text: out.join('\n') + '\n', lexicon };
}
