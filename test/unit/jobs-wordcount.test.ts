// The wordcount job against a character-by-character count of the whole text, inline and bundled.
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { z } from 'zod';
import wordcount, { CHUNK_CHARS, CORPORA, chunksOf } from '../../jobs/wordcount.js';
import { runJobInline, splitInline } from '../helpers/run-job-inline.js';

const isLetter = (c: string) => /^\p{L}$/u.test(c);
const isMark = (c: string) => /^\p{M}$/u.test(c);
const isApostrophe = (c: string) => c === "'" || c === '\u2019';

/**
 * Words as the job defines them, found by walking the code points: a letter starts a word,
 * letters and marks continue it, an apostrophe continues it only when a letter follows.
 */
function referenceCounts(text: string): Map<string, number> {
  const chars = [...text.normalize('NFC')];
  const counts = new Map<string, number>();
  let word = '';
  const flush = () => {
    if (word === '') return;
    const key = word.toLowerCase();
    counts.set(key, (counts.get(key) ?? 0) + 1);
    word = '';
  };
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i]!;
    if (word === '') {
      if (isLetter(c)) word = c;
    } else if (isLetter(c) || isMark(c)) {
      word += c;
    } else if (isApostrophe(c) && i + 1 < chars.length && isLetter(chars[i + 1]!)) {
      word += "'";
    } else {
      flush();
    }
  }
  flush();
  return counts;
}

function referenceResult(text: string, top: number) {
  const counts = referenceCounts(text);
  let totalWords = 0;
  for (const n of counts.values()) totalWords += n;
  const ranked = [...counts].sort((a, b) => {
    if (a[1] !== b[1]) return b[1] - a[1];
    return a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0;
  });
  return {
    top: ranked.slice(0, top).map(([word, count]) => ({ word, count })),
    totalWords,
    distinctWords: counts.size,
  };
}

const corpusText = (name: string) => readFileSync(new URL(`../../jobs/data/${name}.txt`, import.meta.url), 'utf8');

describe('wordcount job', () => {
  it('ships at least two bundled texts, a few hundred KB at most', () => {
    expect(CORPORA).toEqual(expect.arrayContaining(['lighthouse', 'zipf-prose']));
    const bytes = CORPORA.reduce((sum, name) => sum + Buffer.byteLength(corpusText(name)), 0);
    expect(bytes).toBeLessThan(400_000);
  });

  for (const corpus of ['lighthouse', 'zipf-prose']) {
    it(`counts the bundled text "${corpus}" as the serial reference does`, async () => {
      const result = await runJobInline(wordcount, { corpus, top: 50 });
      expect(result).toEqual(referenceResult(corpusText(corpus), 50));
    });
  }

  it('cuts a 200 KB text into chunks of about 64 K characters at line breaks', async () => {
    const tasks = await splitInline(wordcount, { corpus: 'zipf-prose' });
    expect(tasks.length).toBe(4);
    expect(tasks.map((t) => t.text).join('')).toBe(corpusText('zipf-prose'));
    for (const task of tasks.slice(0, -1)) {
      expect(task.text.length).toBeLessThanOrEqual(CHUNK_CHARS);
      expect(task.text.length).toBeGreaterThan(CHUNK_CHARS / 2);
      expect(task.text.endsWith('\n')).toBe(true);
    }
  });

  it('lower-cases, keeps apostrophes inside words, reads any script, skips digits', async () => {
    const text =
      "Don't stop — DON\u2019T stop! 'Quoted' words, rock'n'roll, o'clock'. " +
      'Café, CAFE\u0301 and café; Straße, ΛΌΓΟΣ λόγος, 東京 東京, 𝒜𝒜 x2 42 l33t';
    const result = await runJobInline(wordcount, { text, top: 100 });
    expect(result).toEqual(referenceResult(text, 100));
    const counts = new Map(result.top.map(({ word, count }) => [word, count]));
    expect(counts.get("don't")).toBe(2);
    expect(counts.get('quoted')).toBe(1);
    expect(counts.get("rock'n'roll")).toBe(1);
    expect(counts.get("o'clock")).toBe(1);
    expect(counts.get('café')).toBe(3);
    expect(counts.get('λόγος')).toBe(2);
    expect(counts.get('東京')).toBe(2);
    expect(counts.get('𝒜𝒜')).toBe(1);
    expect(counts.get('x')).toBe(1);
    expect(counts.get('l')).toBe(1);
    expect(counts.get('t')).toBe(1);
    expect(counts.has('42')).toBe(false);
  });

  it('ranks by count, then by word', async () => {
    const result = await runJobInline(wordcount, { text: 'b a c b a d', top: 3 });
    expect(result).toEqual({
      top: [
        { word: 'a', count: 2 },
        { word: 'b', count: 2 },
        { word: 'c', count: 1 },
      ],
      totalWords: 6,
      distinctWords: 4,
    });
  });

  it('counts an empty text as one task with no words', async () => {
    expect(await splitInline(wordcount, { text: '' })).toHaveLength(1);
    expect(await runJobInline(wordcount, { text: '' })).toEqual({ top: [], totalWords: 0, distinctWords: 0 });
  });

  it('never cuts a word when a line is longer than a chunk, or a word is', async () => {
    const oneLine = Array.from({ length: 30_000 }, (_, i) => `Word${'abcdefg'[i % 7]}'s`).join(' ');
    const oneWord = 'ab'.repeat(50_000) + ' tail ' + 'cd'.repeat(40_000);
    for (const text of [oneLine, oneWord]) {
      expect(text.length).toBeGreaterThan(CHUNK_CHARS);
      const tasks = await splitInline(wordcount, { text });
      expect(tasks.length).toBeGreaterThan(1);
      expect(await runJobInline(wordcount, { text, top: 10 })).toEqual(referenceResult(text, 10));
    }
  });

  it('cuts any text into pieces that join back and count the same (property)', () => {
    const alphabet = ['a', 'B', 'é', 'e\u0301', "'", '\u2019', ' ', '\n', '-', '1', '𝒜', 'ß', '東', '.', '\u0301'];
    fc.assert(
      fc.property(
        fc.array(fc.constantFrom(...alphabet), { maxLength: 200 }).map((parts) => parts.join('')),
        fc.integer({ min: 1, max: 24 }),
        (text, size) => {
          const pieces = [...chunksOf(text, size)];
          expect(pieces.join('')).toBe(text);
          const merged = new Map<string, number>();
          for (const piece of pieces) {
            for (const [word, n] of referenceCounts(piece)) merged.set(word, (merged.get(word) ?? 0) + n);
          }
          expect(merged).toEqual(referenceCounts(text));
        },
      ),
      { numRuns: 300, seed: 20240611 },
    );
  });

  describe('rejects bad input, naming the field', () => {
    const cases: [string, unknown, string, RegExp][] = [
      ['neither text nor corpus', {}, 'text', /text .* or corpus/],
      ['both text and corpus', { text: 'a', corpus: 'lighthouse' }, 'corpus', /not both/],
      ['an unknown corpus', { corpus: 'moby-dick' }, 'corpus', /unknown corpus "moby-dick".*lighthouse/],
      ['a path for a corpus', { corpus: '../package' }, 'corpus', /not a path/],
      ['an absolute path', { corpus: '/etc/passwd' }, 'corpus', /not a path/],
      ['a file name with its extension', { corpus: 'lighthouse.txt' }, 'corpus', /not a path/],
      ['an upper-case name', { corpus: 'Lighthouse' }, 'corpus', /lower-case/],
      ['top of zero', { text: 'a', top: 0 }, 'top', /./],
      ['a number for text', { text: 42 }, 'text', /./],
    ];
    for (const [what, input, field, message] of cases) {
      it(what, () => {
        const result = wordcount.input.safeParse(input);
        expect(result.success).toBe(false);
        const issue = (result.error as z.ZodError).issues.find((i) => i.path.join('.') === field);
        expect(issue, JSON.stringify((result.error as z.ZodError).issues)).toBeDefined();
        expect(issue!.message).toMatch(message);
      });
    }
  });
});
