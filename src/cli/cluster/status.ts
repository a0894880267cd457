// `ringpool cluster status`: each process of the manifest, alive or not, and the cluster view of the API.
import { DEFAULT_DIR, readManifest, readSecrets, type ClusterManifest, type ClusterProcess } from './manifest.js';
import { ownership } from './processes.js';
import { clusterView } from './probes.js';

export interface ClusterStatus {
  readonly manifest: ClusterManifest;
  readonly processes: ReadonlyArray<ClusterProcess & { readonly alive: boolean }>;
  /** `GET /v1/cluster` of the API, or the error met asking it. */
  readonly view: ClusterViewSummary | { readonly error: string };
}

interface ClusterViewSummary {
  readonly leaderId: string | null;
  readonly term: number;
  readonly schedulers: ReadonlyArray<{ id: string; role: string; term: number }>;
  readonly workers: ReadonlyArray<{ id: string; state: string; threads: number; busy: number; queueDepth: number }>;
  readonly redis: { master: { address: string } | null; replicas: ReadonlyArray<{ address: string; lagBytes?: number }>; lastWriteAcked: boolean | null };
  readonly tasksPerSec: number;
  /** Alive worker nodes vs the leader's recommendation (null while no leader reports one). */
  readonly autoscale: { readonly current: number; readonly desired: number; readonly reason: string } | null;
}

export async function clusterStatus(dir: string = DEFAULT_DIR, token?: string): Promise<ClusterStatus | undefined> {
  const manifest = readManifest(dir);
  if (manifest === undefined) return undefined;
  const processes = manifest.processes.map((p) => ({ ...p, alive: ownership(p) === 'ours' }));
  const bearer = token ?? readSecrets(dir).RINGPOOL_API_TOKENS?.split(',')[0]?.replace(/:[a-z+]*$/, '');
  let view: ClusterStatus['view'];
  try {
    view = await clusterView(manifest.apiUrl, bearer);
  } catch (err) {
    view = { error: (err as Error).message };
  }
  return { manifest, processes, view };
}

export function formatStatus(status: ClusterStatus): string {
  const rows = [
    ['ROLE', 'ID', 'PORT', 'PID', 'ALIVE', 'RESTARTS', 'URL'],
    ...status.processes.map((p) => [p.role, p.id, p.port === 0 ? '-' : String(p.port), String(p.pid), p.alive ? 'yes' : 'NO', String(p.restarts ?? 0), p.autoscaled === undefined ? p.url : `(autoscaled${p.autoscaled === 'spare' ? ', parked spare' : ''})`]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const lines = rows.map((r) => r.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd());
  lines.unshift(`cluster in ${status.manifest.dir} (${status.manifest.state}, started ${status.manifest.createdAt}); API ${status.manifest.apiUrl}`, '');
  for (const p of status.processes) if (p.lastExit !== undefined) lines.push(`${p.id}: last exit: ${p.lastExit.how} (pid ${p.lastExit.pid}, ${p.lastExit.at})`);
  lines.push('');
  const v = status.view;
  if ('error' in v) lines.push(`cluster view: the API did not answer (${v.error})`);
  else {
    lines.push(`schedulers: leader ${v.leaderId ?? 'none'} (term ${v.term}); ${v.schedulers.map((s) => `${s.id} ${s.role}`).join(', ')}`);
    lines.push(`workers: ${v.workers.map((w) => `${w.id} ${w.state} ${w.busy}/${w.threads} busy, ${w.queueDepth} queued`).join('; ') || 'none'}`);
    lines.push(
      `redis: master ${v.redis.master?.address ?? 'unknown'}; replicas ${v.redis.replicas.map((r) => `${r.address}${r.lagBytes === undefined ? '' : ` (lag ${r.lagBytes} B)`}`).join(', ') || 'none'}; last write acknowledged: ${v.redis.lastWriteAcked ?? 'n/a'}`,
    );
    lines.push(`throughput: ${v.tasksPerSec} tasks/s`);
  }
  const scale = status.manifest.autoscale;
  if (scale !== undefined) {
    const now = 'error' in v || v.autoscale === null ? 'current and desired unknown (no leader report)' : `current ${v.autoscale.current}, desired ${v.autoscale.desired} (${v.autoscale.reason})`;
    const decisions = Object.entries(scale.decisions).map(([k, n]) => `${k} ${n}`).join(', ') || 'none yet';
    lines.push(`autoscale: worker nodes ${scale.minNodes}..${scale.maxNodes}, ${now}; decisions: ${decisions}`);
  }
  return lines.join('\n');
}
