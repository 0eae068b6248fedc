/**
 * Schedule progress of a time-boxed run (`max_duration` in s/min/h), measured in projected steps.
 *
 * The fraction of wall clock elapsed is the wrong clock for an LR schedule: the first steps of a run
 * (CUDA autotuning, allocator warm-up) and the evaluations and checkpoint writes take time without
 * training, so a 6% warmup measured in time ends after far fewer than 6% of the steps (an H200 2-minute
 * BERT-base run peaked at step 31 of ~1000 and collapsed). Here progress is
 *
 *     p = step / (step + remainingSeconds / secondsPerStep)
 *
 * the share of the run's projected total steps done, where secondsPerStep is the median of the last
 * measured step durations plus the overhead (evaluation, checkpoints) amortised per step. The first
 * step after a start or resume is not measured: it holds the one-off warm-up.
 */
export interface TimeBoxOptions {
  /** How many of the newest step durations the median is taken over. Default 50. */
  window?: number;
  /** Lowest progress to report (a resumed run's saved progress), so the schedule never goes back. */
  floor?: number;
}

export class TimeBoxProgress {
  readonly budgetSeconds: number;
  private readonly window: number;
  private readonly durations: number[] = [];
  private stepsSeen = 0;
  private overheadSeconds = 0;
  private last: number;

  constructor(budgetSeconds: number, opts: TimeBoxOptions = {}) {
    if (!(budgetSeconds > 0) || !Number.isFinite(budgetSeconds)) {
      throw new Error(`time box: budgetSeconds: expected a finite number of seconds > 0, got ${budgetSeconds}`);
    }
    const floor = opts.floor ?? 0;
    if (!(floor >= 0 && floor <= 1)) throw new Error(`time box: floor: expected a progress in [0, 1], got ${floor}`);
    const window = opts.window ?? 50;
    if (!Number.isInteger(window) || window < 1) throw new Error(`time box: window: expected an integer ≥ 1, got ${window}`);
    this.budgetSeconds = budgetSeconds;
    this.window = window;
    this.last = floor;
  }

  /** Records one completed training step's own wall time (data wait, forward, backward, optimizer, logging). */
  recordStep(seconds: number): void {
    this.stepsSeen++;
    // The first step of this process holds autotuning and warm-up: a one-off, not the pace of the run.
    if (this.stepsSeen === 1) return;
    if (!(seconds >= 0) || !Number.isFinite(seconds)) return;
    this.durations.push(seconds);
    if (this.durations.length > this.window) this.durations.shift();
  }

  /** Records seconds spent outside the steps (evaluation, checkpoint writes); spread over the steps taken so far. */
  recordOverhead(seconds: number): void {
    if (seconds > 0 && Number.isFinite(seconds)) this.overheadSeconds += seconds;
  }

  /** Projected seconds per step (median step time plus amortised overhead), or null before any usable step. */
  secondsPerStep(): number | null {
    if (this.durations.length === 0) return null;
    const sorted = [...this.durations].sort((a, b) => a - b);
    const mid = sorted.length >> 1;
    const median = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
    return median + this.overheadSeconds / this.stepsSeen;
  }

  /**
   * Progress in [0, 1] for the step about to run, `step` steps done in all (a resumed run's earlier
   * steps included) and `elapsedSeconds` of the budget used. Never less than a value returned before.
   */
  progress(step: number, elapsedSeconds: number): number {
    const remaining = this.budgetSeconds - elapsedSeconds;
    let p: number;
    if (remaining <= 0) p = 1;
    else {
      const sps = this.secondsPerStep();
      // Nothing measured yet: the warmup starts at multiplier 0 anyway.
      if (sps === null || step <= 0) p = 0;
      // A zero pace projects unboundedly many steps: no progress to report beyond the last.
      else p = sps > 0 ? step / (step + remaining / sps) : 0;
    }
    this.last = Math.min(1, Math.max(this.last, p));
    return this.last;
  }

  /** The newest progress returned (the floor given at construction before any). */
  get current(): number {
    return this.last;
  }
}
