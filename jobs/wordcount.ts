// Example job: the most frequent words of a text given inline or bundled in jobs/data/, counted chunk by chunk.
import { readdirSync, readFileSync } from 'node:fs';
import { z } from 'zod';
import { defineJob } from 'ringpool/sdk';

const DATA_DIR = new URL('./data/', import.meta.url);
const CORPUS_NAME = /^[a-z0-9-]+$/;
/** The bundled texts, `<name>.txt` in jobs/data/: read once, when the module loads. */
export const CORPORA: readonly string[] = Object.freeze(
  readdirSync(DATA_DIR)
    .filter((file) => file.endsWith('.txt') && CORPUS_NAME.test(file.slice(0, -4)))
    .map((file) => file.slice(0, -4))
    .sort(),
);

/** Most characters of an inline text (the submission is stored in Redis). */
const MAX_TEXT = 8 * 1024 * 1024;
/** Characters per task, about: chunks end at a line break when there is one. */
export const CHUNK_CHARS = 64 * 1024;
/**
 * A word: a letter, then letters and combining marks, with apostrophes allowed between letters
 * ("don't", "rock'n'roll", but not "'quoted'"). Digits are not words.
 */
const WORD = /\p{L}[\p{L}\p{M}]*(?:['\u2019]\p{L}[\p{L}\p{M}]*)*/gu;
/** What a word can contain; a chunk may end after any other character without cutting a word. */
const WORD_PART = /[\p{L}\p{M}'\u2019]/u;

export const wordcountInput = z
  .strictObject({
    text: z
      .string()
      .max(MAX_TEXT)
      .optional()
      .describe(`the text to count (at most ${MAX_TEXT} characters); give this or corpus`),
    corpus: z
      .string()
      .max(64)
      .optional()
      .describe(`the name of a bundled text, one of: ${CORPORA.join(', ')}; give this or text`),
    top: z.number().int().min(1).max(10_000).default(20).describe('how many of the most frequent words to return'),
  })
  .check((ctx) => {
    const { text, corpus } = ctx.value;
    if (text === undefined && corpus === undefined) {
      ctx.issues.push({
        code: 'custom',
        path: ['text'],
        input: ctx.value,
        message: `give text (the words themselves) or corpus (one of: ${CORPORA.join(', ')}), got neither`,
      });
    } else if (text !== undefined && corpus !== undefined) {
      ctx.issues.push({ code: 'custom', path: ['corpus'], input: corpus, message: 'give text or corpus, not both' });
    } else if (corpus !== undefined) {
      if (!CORPUS_NAME.test(corpus)) {
        ctx.issues.push({
          code: 'custom',
          path: ['corpus'],
          input: corpus,
          message: `corpus must be the name of a bundled text (lower-case letters, digits and dashes, not a path), got ${JSON.stringify(corpus)}`,
        });
      } else if (!CORPORA.includes(corpus)) {
        ctx.issues.push({
          code: 'custom',
          path: ['corpus'],
          input: corpus,
          message: `unknown corpus ${JSON.stringify(corpus)}: expected one of ${CORPORA.join(', ')}`,
        });
      }
    }
  });

export type WordcountInput = z.output<typeof wordcountInput>;

/** One task: a piece of the text that starts and ends between words. */
export interface WordcountTask {
  readonly text: string;
}

/** A task's counts as `[word, count]` pairs, in order of first appearance. */
export type WordCounts = [word: string, count: number][];

export interface WordcountResult {
  /** The `top` most frequent words, by count (descending) then word (code-unit order). */
  readonly top: { readonly word: string; readonly count: number }[];
  readonly totalWords: number;
  readonly distinctWords: number;
}

/** Whether a chunk may end just after `text[i]`: a character no word contains (nor half a surrogate pair). */
function isBreakAfter(text: string, i: number): boolean {
  const code = text.charCodeAt(i);
  if (code >= 0xd800 && code <= 0xdfff) return false;
  return !WORD_PART.test(text[i]!);
}

/** Cuts `text` into pieces of about `size` characters, preferring line breaks, never inside a word. */
export function* chunksOf(text: string, size: number): Generator<string> {
  let start = 0;
  do {
    let end = start + size;
    if (end >= text.length) {
      end = text.length;
    } else {
      const newline = text.lastIndexOf('\n', end - 1);
      if (newline >= start + size / 2) {
        end = newline + 1;
      } else {
        let i = end - 1;
        while (i >= start && !isBreakAfter(text, i)) i--;
        if (i < start) {
          // A window of one endless word: extend to its end rather than cut it.
          i = end;
          while (i < text.length && !isBreakAfter(text, i)) i++;
        }
        end = Math.min(text.length, i + 1);
      }
    }
    yield text.slice(start, end);
    start = end;
  } while (start < text.length);
}

/** A word as counted: lower case, with the typographic apostrophe (’) as a plain one. */
function canonical(word: string): string {
  return word.toLowerCase().replaceAll('\u2019', "'");
}

function throwIfAborted(signal: AbortSignal): void {
  if (signal.aborted) throw signal.reason ?? new Error('task aborted');
}

export default defineJob({
  name: 'wordcount',
  description: 'Counts words (lower-cased, Unicode letters) and returns the most frequent ones.',
  input: wordcountInput,

  *split(input): Generator<WordcountTask> {
    const text = input.text ?? readFileSync(new URL(`${input.corpus}.txt`, DATA_DIR), 'utf8');
    for (const chunk of chunksOf(text, CHUNK_CHARS)) yield { text: chunk };
  },

  run(task: WordcountTask, ctx): WordCounts {
    // NFC first, so "é" typed as e + ◌́ and as one character count as one word.
    const text = task.text.normalize('NFC');
    const counts = new Map<string, number>();
    const words = new RegExp(WORD.source, WORD.flags);
    let seen = 0;
    for (let match = words.exec(text); match !== null; match = words.exec(text)) {
      const word = canonical(match[0]);
      counts.set(word, (counts.get(word) ?? 0) + 1);
      if (++seen % 4096 === 0) {
        throwIfAborted(ctx.signal);
        ctx.progress(words.lastIndex / text.length);
      }
    }
    throwIfAborted(ctx.signal);
    return [...counts];
  },

  reduce(perTask: WordCounts[], input): WordcountResult {
    const counts = new Map<string, number>();
    let totalWords = 0;
    for (const pairs of perTask) {
      for (const [word, count] of pairs) {
        counts.set(word, (counts.get(word) ?? 0) + count);
        totalWords += count;
      }
    }
    const top = [...counts]
      .sort(([a, ca], [b, cb]) => cb - ca || (a < b ? -1 : a > b ? 1 : 0))
      .slice(0, input.top)
      .map(([word, count]) => ({ word, count }));
    return { top, totalWords, distinctWords: counts.size };
  },
});
