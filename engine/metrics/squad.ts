/**
 * SQuAD v1.1 exact match and F1, as the official evaluation script (evaluate-v1.1.py)
 * defines them:
 * - normalisation: lower-case; delete ASCII punctuation (Python's string.punctuation);
 *   replace the words "a", "an", "the" with a space; collapse white space;
 * - exact match: the normalised prediction equals a normalised gold answer;
 * - F1: over the bags of white-space tokens of the normalised strings, 2PR/(P+R), 0 when
 *   they share no token (so an empty prediction scores 0 F1 even against an empty answer);
 * - each question takes its best score over its gold answers; the dataset score is the mean.
 * Scores are fractions in [0, 1]; the official script prints them ×100.
 */
import { checkPaired, MetricError } from './errors';

const PUNCTUATION = /[!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~]/g;
// Python's `\b(a|an|the)\b` on str: a word character is a letter, a number or "_" in Unicode
// (JavaScript's \b knows only ASCII word characters).
const ARTICLES = /(?<![\p{L}\p{N}_])(?:a|an|the)(?![\p{L}\p{N}_])/gu;
// What Python's str.split() splits on (str.isspace): unlike JavaScript's \s it includes
// U+001C–U+001F and U+0085 and excludes U+FEFF.
const WHITESPACE = /[\t\n\v\f\r\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/;

/** The official normalize_answer. */
export function normalizeAnswer(s: string): string {
  const text = s.toLowerCase().replace(PUNCTUATION, '').replace(ARTICLES, ' ');
  return tokensOf(text).join(' ');
}

/** 1 if the normalised strings are equal, else 0. */
export function exactMatchScore(prediction: string, gold: string): number {
  return normalizeAnswer(prediction) === normalizeAnswer(gold) ? 1 : 0;
}

/** Token-overlap F1 of one prediction against one gold answer. */
export function tokenF1Score(prediction: string, gold: string): number {
  const p = tokensOf(normalizeAnswer(prediction));
  const g = tokensOf(normalizeAnswer(gold));
  const counts = new Map<string, number>();
  for (const t of g) counts.set(t, (counts.get(t) ?? 0) + 1);
  let same = 0;
  for (const t of p) {
    const c = counts.get(t) ?? 0;
    if (c > 0) {
      same++;
      counts.set(t, c - 1);
    }
  }
  if (same === 0) return 0;
  const precision = same / p.length;
  const recall = same / g.length;
  return (2 * precision * recall) / (precision + recall);
}

/** Mean over questions of the best exact match against each question's gold answers. */
export function exactMatch(predictions: readonly string[], golds: readonly (readonly string[])[]): number {
  return meanOfBest('exact_match', predictions, golds, exactMatchScore);
}

/** Mean over questions of the best token F1 against each question's gold answers. */
export function spanF1(predictions: readonly string[], golds: readonly (readonly string[])[]): number {
  return meanOfBest('span_f1', predictions, golds, tokenF1Score);
}

function meanOfBest(name: string, predictions: readonly string[], golds: readonly (readonly string[])[], score: (p: string, g: string) => number): number {
  checkPaired(name, predictions, golds);
  let total = 0;
  predictions.forEach((p, i) => {
    const answers = golds[i]!;
    if (answers.length === 0) throw new MetricError(`${name}: question ${i} has no gold answers`);
    total += answers.reduce((best, g) => Math.max(best, score(p, g)), 0);
  });
  return total / predictions.length;
}

function tokensOf(text: string): string[] {
  return text.split(WHITESPACE).filter((t) => t !== '');
}
