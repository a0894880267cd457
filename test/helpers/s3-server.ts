// Starts s3rver (a real S3-compatible HTTP server) as a child process on a free port, with its data in a temp folder.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '../../src/store/local-redis.js';

const S3RVER = fileURLToPath(new URL('../../node_modules/s3rver/bin/s3rver.js', import.meta.url));

/** s3rver's one account: its access key id; the secret is not checked (--allow-mismatched-signatures), so tests can use one they look for in logs. */
export const S3RVER_ACCESS_KEY = 'S3RVER';

export interface S3Server {
  readonly endpoint: string;
  readonly pid: number;
  /** The environment the AWS SDK reads its credentials and region from. */
  readonly env: Record<string, string>;
  stop(): Promise<void>;
}

/** An s3rver with `buckets` created, answering on 127.0.0.1; `stop` kills it and deletes its data. */
export async function startS3Server(buckets: readonly string[], secret = 'S3RVER'): Promise<S3Server> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'ringpool-s3rver-'));
  const args = [S3RVER, '-d', dir, '-a', '127.0.0.1', '-p', String(port), '--silent', '--allow-mismatched-signatures', '--no-vhost-buckets'];
  for (const bucket of buckets) args.push('--configure-bucket', bucket);
  const child: ChildProcess = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  await waitForPort(port, child, () => stderr);
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return {
    endpoint: `http://127.0.0.1:${port}`,
    pid: child.pid as number,
    env: { AWS_ACCESS_KEY_ID: S3RVER_ACCESS_KEY, AWS_SECRET_ACCESS_KEY: secret, AWS_REGION: 'us-east-1' },
    async stop() {
      if (child.exitCode === null) child.kill('SIGKILL');
      await exited;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function waitForPort(port: number, child: ChildProcess, stderr: () => string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    if (child.exitCode !== null) throw new Error(`s3rver exited with ${child.exitCode}: ${stderr()}`);
    const open = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1', () => { socket.end(); resolve(true); });
      socket.on('error', () => resolve(false));
    });
    if (open) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill('SIGKILL');
  throw new Error(`s3rver did not listen on ${port} within 10 s: ${stderr()}`);
}
