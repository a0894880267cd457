// The lines a job's code writes to the job's log (a task's `ctx.log`, the split's and the reduce's `log`): formatted as console.log, bounded per call.
import { format } from 'node:util';

/** Which part of the job wrote a line: `split` and `reduce` lines belong to no task. */
export type LogPhase = 'split' | 'task' | 'reduce';

/** One line as the code that wrote it reports it (the node adds where it ran). */
export interface LogLine {
  /** Epoch ms. */
  readonly at: number;
  /** The task that wrote it; null for the split's and the reduce's lines. */
  readonly task: number | null;
  readonly phase: LogPhase;
  readonly message: string;
}

/** Most lines one thread call, one split or one reduce keeps; past it, one line says how many were dropped. */
export const MAX_LOG_LINES_PER_CALL = 200;
/** Longest line kept, characters. */
export const MAX_LOG_LINE_CHARS = 2_000;

/**
 * Lines of one call (a thread call, a split, a reduce): the first MAX_LOG_LINES_PER_CALL it writes,
 * then one line counting the ones dropped.
 */
export class LogLines {
  #lines: LogLine[] = [];
  #kept = 0;
  #dropped = 0;
  #note: LogLine | undefined;

  /** `what` names the call in the line that counts the dropped ones. */
  readonly #what: string;

  constructor(what: string) {
    this.#what = what;
  }

  write(task: number | null, phase: LogPhase, args: readonly unknown[]): void {
    if (this.#kept >= MAX_LOG_LINES_PER_CALL) {
      const d = ++this.#dropped;
      const message = `(${d} more log line${d === 1 ? '' : 's'} of this ${this.#what} dropped: at most ${MAX_LOG_LINES_PER_CALL} a ${this.#what})`;
      this.#note = { at: Date.now(), task, phase, message };
      return;
    }
    this.#kept++;
    const message = format(...args);
    const cut = message.length > MAX_LOG_LINE_CHARS ? `${message.slice(0, MAX_LOG_LINE_CHARS)}… (cut at ${MAX_LOG_LINE_CHARS} characters)` : message;
    this.#lines.push({ at: Date.now(), task, phase, message: cut });
  }

  /** The lines written since the last take (with the count of those dropped, if any), which leave: a split hands them over at each checkpoint. */
  take(): LogLine[] {
    const taken = this.#note === undefined ? this.#lines : [...this.#lines, this.#note];
    this.#lines = [];
    this.#note = undefined;
    return taken;
  }
}
