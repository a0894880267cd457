// A periodic clean-up that only the leading scheduler runs (one sweeper per cluster), one pass at a time.
import type { Logger } from 'pino';
import { serializeError } from '../errors.js';

export interface LeaderSweep {
  /** What it cleans, for the logs ("the blobs of expired jobs"). */
  readonly what: string;
  readonly everyMs: number;
  readonly isLeader: () => boolean;
  /** One pass; returns how many things it removed (logged when more than 0). */
  readonly sweep: () => Promise<number>;
  readonly logger: Logger;
}

/**
 * Runs `sweep` every `everyMs` while this scheduler leads, never two passes at once; a pass that
 * fails is logged and the next one retries. Returns the function that stops it.
 */
export function startLeaderSweep(s: LeaderSweep): () => void {
  let running = false;
  const timer = setInterval(() => {
    if (running || !s.isLeader()) return;
    running = true;
    s.sweep()
      .then((removed) => {
        if (removed > 0) s.logger.info({ removed }, `swept ${s.what}`);
      })
      .catch((err: unknown) => s.logger.warn({ err: serializeError(err) }, `could not sweep ${s.what}; will retry`))
      .finally(() => {
        running = false;
      });
  }, s.everyMs);
  timer.unref();
  return () => clearInterval(timer);
}
