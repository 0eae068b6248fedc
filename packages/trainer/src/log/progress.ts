import { fmtCount, fmtDuration } from "./format.js";

export interface ProgressInfo {
  step: number;
  /** Null for time-boxed runs. */
  totalSteps: number | null;
  /** Fraction of the run done, in [0, 1]. */
  fraction: number;
  loss: number;
  lr: number;
  tokensPerSec: number;
  mfu: number | null;
  etaSeconds: number;
  epoch: number;
}

/**
 * Progress on stderr: a redrawn single-line bar on a TTY; otherwise (CI, files, pipes) a plain line
 * every `interval` steps. `log()` prints a full line without breaking the bar.
 */
export class Progress {
  private drawn = false;

  constructor(
    private readonly stream: NodeJS.WriteStream | { write(s: string): boolean; isTTY?: boolean; columns?: number } = process.stderr,
    private readonly opts: { bar: boolean; interval: number; enabled: boolean } = { bar: true, interval: 1, enabled: true },
  ) {}

  private get tty(): boolean {
    return this.opts.bar && Boolean(this.stream.isTTY);
  }

  update(p: ProgressInfo): void {
    if (!this.opts.enabled) return;
    const total = p.totalSteps !== null ? `/${p.totalSteps}` : "";
    const mfu = p.mfu === null ? "" : ` mfu ${(100 * p.mfu).toFixed(1)}%`;
    const stats = `step ${p.step}${total} ep ${p.epoch} loss ${p.loss.toFixed(4)} lr ${p.lr.toExponential(2)} ${fmtCount(p.tokensPerSec)} tok/s${mfu} eta ${fmtDuration(p.etaSeconds)}`;
    if (this.tty) {
      const width = Math.max(10, Math.min(30, ((this.stream as { columns?: number }).columns ?? 100) - stats.length - 10));
      const filled = Math.round(width * Math.min(1, Math.max(0, p.fraction)));
      const bar = `[${"#".repeat(filled)}${".".repeat(width - filled)}] ${(100 * p.fraction).toFixed(0).padStart(3)}%`;
      this.stream.write(`\r\x1b[K${bar} ${stats}`);
      this.drawn = true;
    } else if (p.step % this.opts.interval === 0 || p.step === p.totalSteps) {
      this.stream.write(`[train] ${stats}\n`);
    }
  }

  log(line: string): void {
    if (this.drawn) {
      this.stream.write("\r\x1b[K");
      this.drawn = false;
    }
    this.stream.write(line.endsWith("\n") ? line : `${line}\n`);
  }

  done(): void {
    if (this.drawn) {
      this.stream.write("\n");
      this.drawn = false;
    }
  }
}
