/** Where progress goes: process.stderr, or any writable with `write` (and `isTTY` for redrawing). */
export interface ProgressStream {
  write(s: string): unknown;
  isTTY?: boolean;
}

const WIDTH = 24;

function clock(s: number): string {
  if (!Number.isFinite(s)) return "?";
  const m = Math.floor(s / 60);
  const sec = Math.round(s % 60);
  return m > 0 ? `${m}m${String(sec).padStart(2, "0")}s` : `${sec}s`;
}

/**
 * A one-line progress bar per task: `SST-2 seed 19 [#######.........]  120/400 loss 0.5321 eta 1m20s`.
 * On a terminal the line is redrawn in place; elsewhere (CI logs, files) a line is printed every 10 %
 * so logs stay short.
 */
export class ProgressBar {
  private readonly t0 = performance.now();
  private lastDecile = -1;
  private lastDraw = 0;

  constructor(
    private readonly stream: ProgressStream,
    private readonly label: string,
    private readonly total: number,
  ) {}

  update(done: number, info = ""): void {
    const frac = this.total > 0 ? Math.min(1, done / this.total) : 1;
    const elapsed = (performance.now() - this.t0) / 1000;
    const eta = done > 0 ? (elapsed / done) * (this.total - done) : Infinity;
    const filled = Math.round(frac * WIDTH);
    const line = `${this.label} [${"#".repeat(filled)}${".".repeat(WIDTH - filled)}] ${String(done).padStart(String(this.total).length)}/${this.total}${info ? ` ${info}` : ""} eta ${clock(eta)}`;
    if (this.stream.isTTY) {
      const now = performance.now();
      // Redraw at most ~10 times a second.
      if (now - this.lastDraw < 100 && done < this.total) return;
      this.lastDraw = now;
      this.stream.write(`\r\x1b[2K${line}`);
    } else {
      const decile = Math.floor(frac * 10);
      if (decile === this.lastDecile) return;
      this.lastDecile = decile;
      this.stream.write(`${line}\n`);
    }
  }

  /** Ends the bar with a summary line. */
  done(summary: string): void {
    const elapsed = (performance.now() - this.t0) / 1000;
    const text = `${this.label} ${summary} (${clock(elapsed)})`;
    this.stream.write(this.stream.isTTY ? `\r\x1b[2K${text}\n` : `${text}\n`);
  }
}
