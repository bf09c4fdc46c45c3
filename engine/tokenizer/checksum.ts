/**
 * A vocabulary's fingerprint: adapters trained on one vocabulary read token ids another
 * would map to other words, so a fusion checks that every adapter it fuses was trained with
 * the vocabulary of the model it runs on. SHA-256 of the tokens in id order, one per line.
 */
import { createHash } from 'node:crypto';

export function vocabularyChecksum(tokens: readonly string[]): string {
  return createHash('sha256').update(tokens.join('\n'), 'utf8').digest('hex').slice(0, 16);
}
