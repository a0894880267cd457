// Container health probe (node:20-slim has no curl): GET http://127.0.0.1:$RINGPOOL_PORT<path>, exit 0 on 2xx.
// usage: node infra/docker/healthcheck.mjs /healthz|/readyz
const path = process.argv[2] ?? '/healthz';
const port = process.env.RINGPOOL_PORT ?? '3000';
try {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { signal: AbortSignal.timeout(2500) });
  process.exit(res.ok ? 0 : 1);
} catch {
  process.exit(1);
}
