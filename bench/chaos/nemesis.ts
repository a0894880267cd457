// The nemesis: injects the planned faults one at a time into a `cluster up` cluster, heals them, and times the recovery.
import { readManifest, type ClusterManifest, type ClusterProcess } from '../../src/cli/cluster.js';
import { currentPid, findLeader, readiness, sentinelMasterPort } from './cluster-probe.js';
import type { PartitionProxy } from './partition-proxy.js';
import type { FaultKind, PlannedFault } from './schedule.js';

export interface FaultRecord {
  readonly n: number;
  readonly kind: FaultKind;
  /** The process hit (its id), and what it was then (`leader`, `follower`, `master`). */
  readonly target: string;
  readonly targetRole?: string;
  readonly pid?: number;
  readonly startAt: number;
  /** When the fault was healed: the SIGCONT, the link restored; a kill ends when it is sent. */
  endAt: number;
  /** redis-master-kill: when a sentinel first named another master (null: none within the wait). */
  promotedAt?: number | null;
  newMaster?: string;
  /** When every process was ready again; null when not within the recovery wait. */
  recoveredAt: number | null;
  /** From the end (or the promotion) to ready. */
  recoveryMs: number | null;
  /** Who was not ready at the last poll that found anyone not ready: what held the recovery up (or, unrecovered, what still does). */
  notReady?: readonly string[];
  /** A killed process: the pid it runs under again once the cluster is ready (the supervisor of `cluster up` restarted it). */
  newPid?: number;
  /** The fault could not be injected (no leader, no master found…): why. */
  skipped?: string;
}

export interface NemesisOptions {
  readonly dir: string;
  /** The worker behind the partition proxy, with the proxy; absent when partitions are not planned. */
  readonly partition?: { readonly workerId: string; readonly url: string; readonly proxy: PartitionProxy };
  /** How long to wait for every process to be ready after a fault. @default 60000 */
  readonly recoveryTimeoutMs?: number;
  readonly onFault?: (record: FaultRecord) => void;
}

/**
 * How long after a Redis master's kill a promotion may still come: the sentinels' down-after
 * (1500 ms in `cluster up`) plus their election (about 1.5 s seen here), with room to spare.
 */
const PROMOTION_WINDOW_MS = 8_000;

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
  });

export class Nemesis {
  readonly records: FaultRecord[] = [];
  readonly #options: NemesisOptions;
  /** Processes SIGSTOPped and not yet continued: healed by `healAll`. */
  readonly #stopped = new Map<number, string>();

  constructor(options: NemesisOptions) {
    this.#options = options;
  }

  #manifest(): ClusterManifest {
    const m = readManifest(this.#options.dir);
    if (m === undefined) throw new Error(`no cluster manifest in ${this.#options.dir}`);
    return m;
  }

  #extra(): Array<{ id: string; url: string }> {
    const p = this.#options.partition;
    return p === undefined ? [] : [{ id: p.workerId, url: p.url }];
  }

  /** Runs the plan until it is done or `stop` aborts (a fault under way is healed at once). */
  async run(plan: readonly PlannedFault[], stop: AbortSignal): Promise<void> {
    for (const fault of plan) {
      if (stop.aborted) return;
      // One fault at a time: the next waits until the cluster has recovered from the last.
      await this.waitReady(Date.now(), stop);
      if (stop.aborted) return;
      const record = await this.#inject(fault, stop);
      this.records.push(record);
      this.#options.onFault?.(record);
      await sleep(fault.gapMs, stop);
    }
  }

  /** SIGCONTs every process still stopped and restores the partitioned link. */
  healAll(): void {
    for (const [pid] of this.#stopped) this.#continue(pid);
    this.#options.partition?.proxy.heal();
  }

  /** Polls readiness from `from` until every process is ready; resolves with when (null: not within the wait) and who was last seen not ready. */
  async waitReady(from: number, stop?: AbortSignal): Promise<{ at: number | null; notReady: readonly string[] }> {
    const deadline = from + (this.#options.recoveryTimeoutMs ?? 60_000);
    let notReady: readonly string[] = [];
    for (;;) {
      const r = await readiness(this.#manifest(), this.#extra());
      if (r.ready) return { at: Date.now(), notReady };
      notReady = r.notReady;
      if (Date.now() >= deadline || stop?.aborted) return { at: null, notReady };
      await sleep(100);
    }
  }

  async #inject(fault: PlannedFault, stop: AbortSignal): Promise<FaultRecord> {
    const manifest = this.#manifest();
    const byRole = (role: ClusterProcess['role']) => manifest.processes.filter((p) => p.role === role);
    const drawn = (procs: readonly ClusterProcess[]) => procs[Math.floor(fault.targetDraw * procs.length)] as ClusterProcess;
    const base = { n: fault.n, kind: fault.kind, recoveredAt: null, recoveryMs: null };
    const skipped = (target: string, why: string): FaultRecord => ({ ...base, target, startAt: Date.now(), endAt: Date.now(), skipped: why });

    switch (fault.kind) {
      case 'scheduler-leader-kill': {
        const leader = await findLeader(manifest);
        const proc = manifest.processes.find((p) => p.role === 'scheduler' && p.id === leader?.id);
        if (proc === undefined) return skipped('leader', 'no scheduler called itself leader');
        return await this.#kill(base, proc, 'leader');
      }
      case 'worker-kill':
        return await this.#kill(base, drawn(byRole('worker')), undefined);
      case 'scheduler-pause': {
        const proc = drawn(byRole('scheduler'));
        const leader = await findLeader(manifest);
        return await this.#pause(base, proc, leader?.id === proc.id ? 'leader' : 'follower', fault.durationMs, stop);
      }
      case 'worker-pause':
        return await this.#pause(base, drawn(byRole('worker')), undefined, fault.durationMs, stop);
      case 'redis-master-kill': {
        const port = await sentinelMasterPort(manifest);
        const proc = manifest.processes.find((p) => (p.role === 'redis-master' || p.role === 'redis-replica') && p.port === port);
        if (proc === undefined) return skipped('redis master', `no sentinel named a master of this cluster (port ${port ?? 'none'})`);
        return await this.#killRedisMaster(base, proc, manifest);
      }
      case 'redis-master-pause': {
        const port = await sentinelMasterPort(manifest);
        const proc = manifest.processes.find((p) => (p.role === 'redis-master' || p.role === 'redis-replica') && p.port === port);
        if (proc === undefined) return skipped('redis master', `no sentinel named a master of this cluster (port ${port ?? 'none'})`);
        return await this.#pauseRedisMaster(base, proc, manifest, fault.durationMs, stop);
      }
      case 'worker-partition': {
        const partition = this.#options.partition;
        if (partition === undefined) return skipped('partition', 'no partitionable worker was started');
        const startAt = Date.now();
        partition.proxy.cut();
        await sleep(fault.durationMs, stop);
        partition.proxy.heal();
        return await this.#recovered({ ...base, target: partition.workerId, targetRole: 'worker, its Redis link cut', startAt, endAt: Date.now() }, Date.now());
      }
    }
  }

  async #recovered(record: FaultRecord, from: number): Promise<FaultRecord> {
    const ready = await this.waitReady(from);
    record.recoveredAt = ready.at;
    record.recoveryMs = ready.at === null ? null : Math.max(0, ready.at - from);
    if (ready.notReady.length > 0) record.notReady = ready.notReady;
    return record;
  }

  async #kill(base: Pick<FaultRecord, 'n' | 'kind' | 'recoveredAt' | 'recoveryMs'>, proc: ClusterProcess, targetRole: string | undefined): Promise<FaultRecord> {
    const pid = currentPid(proc);
    if (pid === undefined) return { ...base, target: proc.id, startAt: Date.now(), endAt: Date.now(), skipped: `${proc.id} is not running` };
    const startAt = Date.now();
    process.kill(pid, 'SIGKILL');
    const record: FaultRecord = { ...base, target: proc.id, ...(targetRole ? { targetRole } : {}), pid, startAt, endAt: startAt };
    return this.#restarted(await this.#recovered(record, startAt), proc);
  }

  async #pause(base: Pick<FaultRecord, 'n' | 'kind' | 'recoveredAt' | 'recoveryMs'>, proc: ClusterProcess, targetRole: string | undefined, ms: number, stop: AbortSignal): Promise<FaultRecord> {
    const pid = currentPid(proc);
    if (pid === undefined) return { ...base, target: proc.id, startAt: Date.now(), endAt: Date.now(), skipped: `${proc.id} is not running` };
    const startAt = Date.now();
    this.#stopped.set(pid, proc.id);
    process.kill(pid, 'SIGSTOP');
    await sleep(ms, stop);
    this.#continue(pid);
    const endAt = Date.now();
    return await this.#recovered({ ...base, target: proc.id, ...(targetRole ? { targetRole } : {}), pid, startAt, endAt }, endAt);
  }

  async #killRedisMaster(base: Pick<FaultRecord, 'n' | 'kind' | 'recoveredAt' | 'recoveryMs'>, proc: ClusterProcess, manifest: ClusterManifest): Promise<FaultRecord> {
    const pid = currentPid(proc);
    if (pid === undefined) return { ...base, target: proc.id, startAt: Date.now(), endAt: Date.now(), skipped: `${proc.id} is not running` };
    const startAt = Date.now();
    process.kill(pid, 'SIGKILL');
    const record: FaultRecord = { ...base, target: proc.id, targetRole: 'master', pid, startAt, endAt: startAt, promotedAt: null };
    // The promotion (a sentinel names another master: down-after 1.5 s, then their election) and the
    // readiness are watched together. A master back before the sentinels' down-after is kept by
    // them, with no promotion: once PROMOTION_WINDOW_MS has passed, recovery is timed from the kill.
    const deadline = startAt + (this.#options.recoveryTimeoutMs ?? 60_000);
    let readySince: number | undefined;
    let notReady: readonly string[] = [];
    for (;;) {
      if (record.promotedAt === null) {
        const port = await sentinelMasterPort(manifest);
        if (port !== undefined && port !== proc.port) {
          record.promotedAt = Date.now();
          record.newMaster = manifest.processes.find((p) => p.port === port)?.id ?? `port ${port}`;
          readySince = undefined; // ready again after the promotion is what counts
        }
      }
      const r = await readiness(this.#manifest(), this.#extra());
      if (!r.ready) {
        readySince = undefined;
        notReady = r.notReady;
      } else readySince ??= Date.now();
      if (readySince !== undefined && (record.promotedAt != null || Date.now() - startAt >= PROMOTION_WINDOW_MS)) {
        const from = record.promotedAt ?? startAt;
        record.recoveredAt = readySince;
        record.recoveryMs = Math.max(0, readySince - from);
        break;
      }
      if (Date.now() >= deadline) break;
      await sleep(100);
    }
    if (notReady.length > 0) record.notReady = notReady;
    return this.#restarted(record, proc);
  }

  /**
   * The master freezes for longer than the sentinels' down-after: they promote a replica while it
   * is stopped, and demote it when it wakes. The supervisor leaves a stopped process alone, so
   * this is a failover proper, which a kill (restarted within 0.6 s) may not be.
   */
  async #pauseRedisMaster(base: Pick<FaultRecord, 'n' | 'kind' | 'recoveredAt' | 'recoveryMs'>, proc: ClusterProcess, manifest: ClusterManifest, ms: number, stop: AbortSignal): Promise<FaultRecord> {
    const pid = currentPid(proc);
    if (pid === undefined) return { ...base, target: proc.id, startAt: Date.now(), endAt: Date.now(), skipped: `${proc.id} is not running` };
    const startAt = Date.now();
    this.#stopped.set(pid, proc.id);
    process.kill(pid, 'SIGSTOP');
    const record: FaultRecord = { ...base, target: proc.id, targetRole: 'master', pid, startAt, endAt: startAt, promotedAt: null };
    while (Date.now() - startAt < ms && !stop.aborted) {
      if (record.promotedAt === null) {
        const port = await sentinelMasterPort(manifest);
        if (port !== undefined && port !== proc.port) {
          record.promotedAt = Date.now();
          record.newMaster = manifest.processes.find((p) => p.port === port)?.id ?? `port ${port}`;
        }
      }
      await sleep(Math.min(100, Math.max(0, startAt + ms - Date.now())), stop);
    }
    this.#continue(pid);
    record.endAt = Date.now();
    // Ready is timed from the SIGCONT: until then the stopped master itself cannot answer.
    return await this.#recovered(record, record.endAt);
  }

  #restarted(record: FaultRecord, proc: ClusterProcess): FaultRecord {
    const manifestProc = readManifest(this.#options.dir)?.processes.find((p) => p.id === proc.id);
    const pid = manifestProc === undefined ? undefined : currentPid(manifestProc);
    if (pid !== undefined && pid !== record.pid) record.newPid = pid;
    return record;
  }

  #continue(pid: number): void {
    this.#stopped.delete(pid);
    try {
      process.kill(pid, 'SIGCONT');
    } catch {
      // gone meanwhile
    }
  }
}
