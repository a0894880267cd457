// Example job: counts a word in many large text shards; each shard is built once per worker node and kept in its cache (ctx.cache).
import { z } from 'zod';
import { defineJob } from 'ringpool/sdk';

/**
 * Why this example: its tasks read large shared inputs. Each shard (a few hundred KB to MBs of
 * text, built from its number as a stand-in for a file or an object fetched from storage) is
 * searched by many tasks, one part each. `keyOf` sends a shard's tasks to one node, and
 * `ctx.cache` keeps the shard there: the node builds it once for all of its threads, not once per
 * task (README, "when to use keyOf and the cache").
 */
export const shardSearchInput = z.strictObject({
  shards: z.number().int().min(1).max(10_000).default(50).describe('how many shards to search'),
  tasksPerShard: z.number().int().min(1).max(1_000).default(20).describe('tasks per shard: each searches one part of its shard'),
  shardKb: z.number().int().min(1).max(65_536).default(512).describe('size of each shard, KiB of text'),
  fetchMs: z.number().int().min(0).max(60_000).default(0).describe('extra time to get a shard, ms, as a fetch from storage would take'),
  word: z.string().regex(/^[a-z]{1,32}$/, 'lower-case letters only, 1 to 32').default('ring').describe('the word to count (lower-case letters)'),
  keyed: z.boolean().default(true).describe('place tasks by their shard (keyOf); false places them by task, for comparison'),
});

export type ShardSearchInput = z.output<typeof shardSearchInput>;

export interface ShardSearchTask {
  readonly shard: number;
  readonly part: number;
  readonly parts: number;
  readonly shardKb: number;
  readonly fetchMs: number;
  readonly word: string;
  readonly keyed: boolean;
}

/** A task's matches, and whether this task built its shard (a miss of the node's cache). */
export interface ShardSearchResult {
  readonly matches: number;
  readonly built: boolean;
}

const WORDS = ['the', 'ring', 'pool', 'node', 'task', 'shard', 'cache', 'key', 'hash', 'load', 'bound', 'raft', 'term', 'leader', 'queue', 'thread'];

/** The text of shard `shard`: words drawn by a generator seeded with its number (the same on every node). */
export function buildShard(shard: number, kb: number): string {
  const target = kb * 1024;
  const words: string[] = [];
  let length = 0;
  let seed = (shard * 2_654_435_761) >>> 0 || 1;
  while (length < target) {
    seed ^= seed << 13;
    seed ^= seed >>> 17;
    seed ^= seed << 5;
    seed >>>= 0;
    const word = WORDS[seed % WORDS.length] as string;
    words.push(word);
    length += word.length + 1;
  }
  return words.join(' ');
}

/** Whole-word occurrences of `word` in `text` between `from` and `to` (a match must start in the range). */
function countIn(text: string, word: string, from: number, to: number): number {
  let count = 0;
  for (let at = text.indexOf(word, from); at !== -1 && at < to; at = text.indexOf(word, at + 1)) {
    const before = at === 0 ? ' ' : text[at - 1];
    const after = text[at + word.length] ?? ' ';
    if (before === ' ' && after === ' ') count++;
  }
  return count;
}

export default defineJob({
  name: 'shard-search',
  description: 'Counts a word in many large text shards; each shard is built once per node and kept in its cache',
  input: shardSearchInput,
  *split(input) {
    // Interleaved, as a real job's tasks often come: shard 0 part 0, shard 1 part 0, …
    for (let part = 0; part < input.tasksPerShard; part++) {
      for (let shard = 0; shard < input.shards; shard++) {
        yield { shard, part, parts: input.tasksPerShard, shardKb: input.shardKb, fetchMs: input.fetchMs, word: input.word, keyed: input.keyed } satisfies ShardSearchTask;
      }
    }
  },
  keyOf: (task: ShardSearchTask, index) => (task.keyed ? `shard-search:${task.shardKb}:${task.shard}` : `shard-search:task:${index}`),
  async run(task: ShardSearchTask, ctx): Promise<ShardSearchResult> {
    let built = false;
    const text = await ctx.cache(`shard-search:${task.shardKb}:${task.shard}`, async () => {
      built = true;
      if (task.fetchMs > 0) await new Promise((r) => setTimeout(r, task.fetchMs));
      return buildShard(task.shard, task.shardKb);
    });
    const size = Math.ceil(text.length / task.parts);
    return { matches: countIn(text, task.word, task.part * size, Math.min(text.length, (task.part + 1) * size)), built };
  },
  reduce(results: ShardSearchResult[]) {
    return { matches: results.reduce((sum, r) => sum + r.matches, 0), shardsBuilt: results.filter((r) => r.built).length, tasks: results.length };
  },
});
