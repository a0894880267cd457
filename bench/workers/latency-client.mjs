// The latency bench's client: a process of its own, as a user's would be, so its HTTP work does not
// share the event loop of the ringpool node under test. One keep-alive connection per request kind
// (node:http; fetch's web streams cost more CPU than the requests they make).
import { Agent, request } from 'node:http';

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

export async function oneJob(base) {
  const started = performance.now();
  const { id } = await call(`${base}/v1/jobs`, 'POST', '{"job":"increment","input":{"tasks":1}}');
  // Long poll: the API answers as soon as the job ends (no client-side polling interval).
  const body = await call(`${base}/v1/jobs/${id}/result?wait=10000`, 'GET');
  if (body.result !== 1) throw new Error(`unexpected answer ${JSON.stringify(body)}`);
  return performance.now() - started;
}

if (process.send !== undefined && import.meta.url === `file://${process.argv[1]}`) {
process.on('message', async ({ url, runs, warmup }) => {
  try {
    for (let i = 0; i < warmup; i++) await oneJob(url); // threads, connections, JIT
    const cpu = process.cpuUsage();
    const samples = [];
    for (let i = 0; i < runs; i++) samples.push(await oneJob(url));
    const used = process.cpuUsage(cpu);
    process.send({ samples, cpuMs: (used.user + used.system) / 1000 });
  } catch (err) {
    process.send({ error: String(err?.stack ?? err) });
  }
});
process.on('disconnect', () => process.exit(0)); // the bench ended, however it ended
process.send({ ready: true });
}
