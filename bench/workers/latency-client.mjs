// The latency bench's client: a process of its own, as a user's would be, so its HTTP work does not
// share the event loop of the ringpool node under test. Keep-alive connections (node:http; fetch's
// web streams cost more CPU than the requests they make). A job is submitted and waited for in one
// request (`POST /v1/jobs?wait=`), or submitted and then long-polled for its result: both, in turn. Also the baseline's
// producer: raw BullMQ, a job added and awaited (`waitUntilFinished`), the worker in the bench.
import { Agent, request } from 'node:http';
import { Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';

const agent = new Agent({ keepAlive: true, maxSockets: 2 });

function call(url, method, body) {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, agent, headers: body === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        if (res.statusCode >= 300) reject(new Error(`${method} ${url}: ${res.statusCode} ${text}`));
        else resolve(JSON.parse(text));
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

const JOB = '{"job":"increment","input":{"tasks":1}}';

/** Submit and wait: one request, the result in its answer. */
async function invokedJob(base) {
  const started = performance.now();
  const body = await call(`${base}/v1/jobs?wait=10000`, 'POST', JOB);
  if (body.result !== 1) throw new Error(`unexpected answer ${JSON.stringify(body)}`);
  return performance.now() - started;
}

/** Submit, then ask for the result: two requests. */
async function polledJob(base) {
  const started = performance.now();
  const { id } = await call(`${base}/v1/jobs`, 'POST', JOB);
  // Long poll: the API answers as soon as the job ends (no client-side polling interval).
  const body = await call(`${base}/v1/jobs/${id}/result?wait=10000`, 'GET');
  if (body.result !== 1) throw new Error(`unexpected answer ${JSON.stringify(body)}`);
  return performance.now() - started;
}

/** One raw BullMQ job, added and awaited until its worker completed it. */
function bullmqRoundTrip(queue, events) {
  return async () => {
    const started = performance.now();
    // Completed jobs are kept a while: waitUntilFinished reads the job if its event came first.
    const job = await queue.add('inc', { x: 0 }, { removeOnComplete: 100 });
    if ((await job.waitUntilFinished(events, 10_000)) !== 1) throw new Error('unexpected BullMQ answer');
    return performance.now() - started;
  };
}

async function timed(once, runs, warmup) {
  for (let i = 0; i < warmup; i++) await once(); // threads, connections, JIT
  const cpu = process.cpuUsage();
  const samples = [];
  for (let i = 0; i < runs; i++) samples.push(await once());
  const used = process.cpuUsage(cpu);
  return { samples, cpuMs: (used.user + used.system) / 1000 };
}

/**
 * Both ways, job by job in turn (which goes first alternates), so both meet the same state of
 * the node and the machine: `runs` of each.
 */
async function timedBothWays(url, runs) {
  const cpu = process.cpuUsage();
  const invoked = [];
  const polled = [];
  for (let i = 0; i < runs; i++) {
    if (i % 2 === 0) {
      invoked.push(await invokedJob(url));
      polled.push(await polledJob(url));
    } else {
      polled.push(await polledJob(url));
      invoked.push(await invokedJob(url));
    }
  }
  const used = process.cpuUsage(cpu);
  return { invoked, polled, cpuMs: (used.user + used.system) / 1000 };
}

process.on('message', async ({ url, runs, warmup, bullmq }) => {
  try {
    if (bullmq === undefined) {
      process.send(await timedBothWays(url, runs));
      return;
    }
    const connection = new Redis(bullmq.redisUrl, { maxRetriesPerRequest: null });
    const queue = new Queue(bullmq.queue, { connection });
    // From the stream's start (the queue is new): read from '$', the first events could pass
    // before the first XREAD is sent, and the first job's wait would time out.
    const events = new QueueEvents(bullmq.queue, { connection: { url: bullmq.redisUrl }, lastEventId: '0-0' });
    await events.waitUntilReady();
    try {
      process.send(await timed(bullmqRoundTrip(queue, events), runs, warmup));
    } finally {
      await events.close();
      await queue.close();
      connection.disconnect();
    }
  } catch (err) {
    process.send({ error: String(err?.stack ?? err) });
  }
});
process.on('disconnect', () => process.exit(0)); // the bench ended, however it ended
process.send({ ready: true });
