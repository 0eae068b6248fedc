/**
 * SIGINT / SIGTERM during training: the first asks the loop to finish the current step, checkpoint
 * and stop (`onStop` is told, for a loop that watches an AbortSignal); a second one (more than a
 * second later) quits at once, without the checkpoint. Exit code 128 + the signal's number.
 */
export class StopSignals {
  /** The first signal received, or null. */
  signal: NodeJS.Signals | null = null;
  private at = 0;
  private readonly onSignal = (sig: NodeJS.Signals): void => {
    if (this.signal) {
      // A second signal: stop now, without the checkpoint. One within a second of the first is the
      // same Ctrl-C reaching a launched rank twice (from the terminal and from the launcher).
      if (performance.now() - this.at > 1000) process.exit(128 + (sig === "SIGINT" ? 2 : 15));
      return;
    }
    this.signal = sig;
    this.at = performance.now();
    this.say(`${sig}: finishing the current step, then writing a checkpoint and stopping (send it again to quit now)`);
    this.onStop?.(sig);
  };

  constructor(
    private readonly say: (msg: string) => void,
    private readonly installed: boolean,
    private readonly onStop?: (sig: NodeJS.Signals) => void,
  ) {
    if (installed) {
      process.on("SIGINT", this.onSignal);
      process.on("SIGTERM", this.onSignal);
    }
  }

  /** The signal's number for the exit code (0 without one). */
  get number(): number {
    return this.signal === "SIGINT" ? 2 : this.signal === "SIGTERM" ? 15 : 0;
  }

  uninstall(): void {
    if (!this.installed) return;
    process.off("SIGINT", this.onSignal);
    process.off("SIGTERM", this.onSignal);
  }
}
