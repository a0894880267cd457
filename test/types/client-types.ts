// Type test (checked by `npm run typecheck`, never run): the typed client takes each job module's input type, and a wrong input fails tsc.
import mandelbrot from '../../jobs/mandelbrot.js';
import primes from '../../jobs/primes.js';
import wordcount from '../../jobs/wordcount.js';
import { createClient, type JobTypes } from '../../src/client/index.js';

type Jobs = JobTypes<[typeof primes, typeof wordcount, typeof mandelbrot]>;
const client = createClient<Jobs>({ url: 'http://127.0.0.1:3000' });

export async function correctCalls(): Promise<void> {
  const handle = await client.submit('primes', { from: 0, to: 100 });
  const count: number = await handle.result();
  void count;
  await client.submit('primes', { from: 0, to: 100, chunk: 1_000 }, { retries: 1, taskTimeoutMs: 5_000 });
  // Fields with defaults in the schema are optional in the input (z.input).
  const image: Uint8Array = await (await client.submit('mandelbrot', { width: 64, height: 48 })).result();
  void image;
  await client.submitAndWait('primes', { from: 0, to: 10 }, undefined, { waitMs: 1_000 });
  for await (const job of client.jobs.list({ job: 'wordcount', status: 'completed', limit: 50 })) void job.id;
  for await (const e of handle.events()) if (e.event === 'progress') void e.data.progress.done;
}

export async function wrongCalls(): Promise<void> {
  // @ts-expect-error `to` must be a number
  await client.submit('primes', { from: 0, to: 'ten' });
  // @ts-expect-error `to` is required
  await client.submit('primes', { from: 0 });
  // @ts-expect-error primes takes no `step`
  await client.submit('primes', { from: 0, to: 10, step: 2 });
  // @ts-expect-error no such job type
  await client.submit('primez', { from: 0, to: 10 });
  // @ts-expect-error width is a number
  await client.submit('mandelbrot', { width: '64' });
  // @ts-expect-error retries is a number
  await client.submit('primes', { from: 0, to: 10 }, { retries: 'two' });
  // @ts-expect-error no such job option
  await client.submit('primes', { from: 0, to: 10 }, { retriez: 1 });
  // @ts-expect-error the same checks on submitAndWait
  await client.submitAndWait('primes', { from: 'zero', to: 10 }, undefined, { waitMs: 1_000 });
  // @ts-expect-error a job filter names a known job type
  client.jobs.list({ job: 'primez' });
  // @ts-expect-error a primes result is a number
  const text: string = await (await client.submit('primes', { from: 0, to: 1 })).result();
  void text;
}

export async function untyped(): Promise<void> {
  // Without a type argument: any name, any input, an unknown result.
  const any = createClient({ url: 'http://127.0.0.1:3000', token: 'x'.repeat(16) });
  const handle = await any.submit('whatever', { anything: [1, 2, 3] });
  const result: unknown = await handle.result();
  void result;
  // @ts-expect-error the result is unknown, not a number
  const n: number = await handle.result();
  void n;
}
