// Stops tsx's compiler (esbuild's service) in a thread done loading TypeScript: kept, it wakes the thread every second.
import { createRequire } from 'node:module';

/**
 * tsx compiles each TypeScript file it has not cached through esbuild's service, which esbuild then
 * keeps for the life of the thread: a thread of its own in this process and an esbuild process that
 * pings it every second (so that it exits with us). On an idle node that was ~0.3 ms CPU/s in the
 * node per thread that had compiled anything, and ~0.8 ms/s more in each esbuild process
 * (docs/performance.md, "Round two"). Called once a thread is done loading (its entry, the node's
 * start, each job module): stops the service now (esbuild's `stop()`), if esbuild is loaded here
 * at all; the next file to compile starts it again. Now rather than after a quiet spell: a task
 * thread's timers do not run while it waits for work (piscina blocks it in `Atomics.wait`).
 */
export function stopTsxCompiler(): void {
  void loadedEsbuild()?.stop();
}

/** tsx's esbuild, if this thread has loaded it (tsx requires it when it registers); never loads it. */
function loadedEsbuild(): { stop(): Promise<void> } | undefined {
  try {
    const require = createRequire(import.meta.url);
    const esbuild = createRequire(require.resolve('tsx/cjs/api')).resolve('esbuild');
    return require.cache[esbuild]?.exports as { stop(): Promise<void> } | undefined;
  } catch {
    return undefined; // no tsx or esbuild to find: nothing of theirs runs here
  }
}
