// Stops esbuild's service (tsx's compiler, and thread-code.ts's) in a thread done compiling: kept, it wakes the thread every second.
import { createRequire } from 'node:module';

/**
 * tsx compiles each TypeScript file it has not cached through esbuild's service, and so do the
 * compiles of thread-code.ts; esbuild then keeps the service for the life of the thread: a thread
 * of its own in this process and an esbuild process that pings it every second (so that it exits
 * with us). On an idle node that was ~0.3 ms CPU/s in the node per thread that had compiled
 * anything, and ~0.8 ms/s more in each esbuild process (docs/performance.md, "Round two"). Called
 * once a thread is done loading (its start, each job module) and when the last of our own compiles
 * in flight ends (`compiling`): stops the service now (esbuild's `stop()`), if esbuild is loaded
 * here at all; the next compile starts it again. Now rather than after a quiet spell: a task
 * thread's timers do not run while it waits for work (piscina blocks it in `Atomics.wait`).
 */
export function stopTsxCompiler(): void {
  if (inFlight > 0) return; // a compile of ours still needs it: the last one to end stops it
  for (const esbuild of loadedEsbuilds()) void esbuild.stop();
}

let inFlight = 0;

/** Runs a compile of ours (thread-code.ts) on esbuild's service, which is stopped once no compile is in flight. */
export async function compiling<T>(work: () => Promise<T>): Promise<T> {
  inFlight += 1;
  try {
    return await work();
  } finally {
    inFlight -= 1;
    stopTsxCompiler();
  }
}

/** The esbuild this thread has loaded (ringpool's own, and tsx's if another copy); never loads one. */
function loadedEsbuilds(): Array<{ stop(): Promise<void> }> {
  const require = createRequire(import.meta.url);
  const found = new Set<string>();
  for (const from of [() => require.resolve('esbuild'), () => createRequire(require.resolve('tsx/cjs/api')).resolve('esbuild')]) {
    try {
      found.add(from());
    } catch {
      // not installed here: nothing of its runs
    }
  }
  return [...found].flatMap((file) => {
    const loaded = require.cache[file]?.exports as { stop?: () => Promise<void> } | undefined;
    return typeof loaded?.stop === 'function' ? [loaded as { stop(): Promise<void> }] : [];
  });
}
