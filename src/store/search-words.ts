// Words a job is found by in the dashboard's search: its type and the words and numbers of its input.

const MAX_WORDS = 64;
const WORD = /[\p{L}\p{N}][\p{L}\p{N}_.-]{1,39}/gu;

/** Lower-cased distinct words of the job type and the input's keys and values, at most 64. */
export function searchWords(name: string, input: unknown): string[] {
  const words = new Set<string>([name.toLowerCase()]);
  const text = typeof input === 'string' ? input : JSON.stringify(input) ?? '';
  for (const match of text.toLowerCase().matchAll(WORD)) {
    words.add(match[0]);
    if (words.size >= MAX_WORDS) break;
  }
  return [...words];
}

/** The words of a search query (same rules as indexing). */
export function queryWords(q: string): string[] {
  return [...new Set([...q.toLowerCase().matchAll(WORD)].map((m) => m[0]))].slice(0, 8);
}
