/** WordPiece on its own: greedy longest-match-first, [UNK] rules, astral characters, the cache. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { TokenizerError } from '../../../engine/tokenizer/errors';
import { WordPiece } from '../../../engine/tokenizer/wordpiece';

const vocabOf = (tokens: string[]): Map<string, number> => new Map(tokens.map((t, i) => [t, i]));
const VOCAB = vocabOf(['[UNK]', 'un', 'una', '##ff', '##aff', '##able', '##a', '##ble', '😀', '##😀', 'x']);

describe('WordPiece', () => {
  test('greedy longest match first, not the fewest pieces', () => {
    // "unaffable": the longest prefix in the vocabulary is "una" (not "un"), then "##ff", then "##able".
    const wp = new WordPiece(VOCAB);
    assert.deepEqual(wp.tokenize('unaffable'), ['una', '##ff', '##able']);
    assert.deepEqual(wp.pieces('unaffable'), { ids: [2, 3, 5], ends: [3, 5, 9], unknown: false });
  });

  test('without "una" the same word is un ##aff ##able', () => {
    const wp = new WordPiece(vocabOf(['[UNK]', 'un', '##aff', '##able']));
    assert.deepEqual(wp.tokenize('unaffable un'), ['un', '##aff', '##able', 'un']);
  });

  test('any stretch without a piece makes the whole word [UNK]', () => {
    const wp = new WordPiece(VOCAB);
    assert.deepEqual(wp.tokenize('unaffablez'), ['[UNK]']);
    assert.deepEqual(wp.pieces('zz'), { ids: [0], ends: [2], unknown: true });
    // A continuation piece is never used at the start of a word: "able" alone has no piece.
    assert.deepEqual(wp.tokenize('able'), ['[UNK]']);
  });

  test('maxInputCharsPerWord counts code points', () => {
    const wp = new WordPiece(VOCAB, { maxInputCharsPerWord: 3 });
    assert.deepEqual(wp.tokenize('😀😀😀'), ['😀', '##😀', '##😀']);
    assert.deepEqual(wp.tokenize('😀😀😀😀'), ['[UNK]']);
    assert.deepEqual(wp.pieces('😀😀😀').ends, [2, 4, 6]);
  });

  test('a custom continuation prefix', () => {
    const wp = new WordPiece(vocabOf(['<unk>', 'un', '@@aff', '@@able']), { unkToken: '<unk>', continuingSubwordPrefix: '@@' });
    assert.deepEqual(wp.tokenize('unaffable unable'), ['un', '@@aff', '@@able', 'un', '@@able']);
  });

  test('the cache returns the remembered segmentation and forgets least recently used words beyond its size', () => {
    const wp = new WordPiece(VOCAB, { cacheSize: 2 });
    const first = wp.pieces('unaffable');
    assert.equal(wp.pieces('unaffable'), first);
    wp.pieces('x');
    assert.equal(wp.pieces('unaffable'), first, 'two words fit');
    wp.pieces('una');
    wp.pieces('x');
    // unaffable was used least recently of the three and is gone; x and una are still remembered.
    const una = wp.pieces('una');
    assert.notEqual(wp.pieces('unaffable'), first);
    assert.deepEqual(wp.pieces('unaffable'), first);
    assert.equal(wp.pieces('una'), una);
    const uncached = new WordPiece(VOCAB, { cacheSize: 0 });
    assert.notEqual(uncached.pieces('x'), uncached.pieces('x'));
  });

  test('an unknown token missing from the vocabulary is an error', () => {
    assert.throws(() => new WordPiece(vocabOf(['un'])), (e: unknown) => e instanceof TokenizerError && /"\[UNK\]" is not in the vocabulary/.test(e.message));
  });
});
