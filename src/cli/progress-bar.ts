// A one-line progress bar on stderr for long work (redrawn in place on a terminal, sparse lines otherwise).

export class ProgressBar {
  readonly #stream: NodeJS.WriteStream;
  readonly #width: number;
  #lastLine = '';
  #lastPrinted = 0;

  constructor(stream: NodeJS.WriteStream = process.stderr, width = 30) {
    this.#stream = stream;
    this.#width = width;
  }

  update(done: number, total: number | null, label: string): void {
    const fraction = total ? Math.min(1, done / total) : 0;
    const filled = Math.round(fraction * this.#width);
    const bar = `[${'#'.repeat(filled)}${'-'.repeat(this.#width - filled)}]`;
    const count = total === null ? `${done}/? (splitting)` : `${done}/${total}`;
    const line = `${bar} ${(fraction * 100).toFixed(0).padStart(3)}% ${count} ${label}`;
    if (line === this.#lastLine) return;
    this.#lastLine = line;
    if (this.#stream.isTTY) this.#stream.write(`\r${line}\x1b[K`);
    else if (Date.now() - this.#lastPrinted > 1000 || fraction === 1) {
      this.#stream.write(`${line}\n`);
      this.#lastPrinted = Date.now();
    }
  }

  finish(): void {
    if (this.#stream.isTTY && this.#lastLine) this.#stream.write('\n');
  }
}
