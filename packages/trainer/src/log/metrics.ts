import * as fs from "node:fs";
import * as path from "node:path";
import type { PhaseProfile } from "@mosaicbert/kernels-cuda";

/** One line of metrics.jsonl. Every record has `type`, `step` and `time` (wall-clock seconds of training). */
export type MetricRecord =
  | {
      type: "train";
      step: number;
      time: number;
      samples: number;
      tokens: number;
      epoch: number;
      loss: number;
      lr: number;
      grad_norm: number;
      /** Tokens (padded positions) per second over the speed window. */
      tokens_per_sec: number;
      samples_per_sec: number;
      /** Model FLOPs utilisation (null when the device's peak is unknown). */
      mfu: number | null;
      /** Milliseconds this step waited for its batch (tokenize + mask, when not read ahead in time). Absent in older files. */
      data_wait_ms?: number;
      /** Device memory reserved by the backend's cache (GiB), and allocations requested from the device so far (CUDA). */
      reserved_gib?: number;
      device_allocations?: number;
      /** Milliseconds of this step on the host clock: batch wait, forward, backward, optimizer, logging (not evals or saves). Absent in older files. */
      step_ms?: number;
      /** Non-padding tokens of the step's global batch (all ranks). Absent in older files. */
      real_tokens?: number;
      /** Positions the MLM loss predicted in the step's global batch (the masked tokens, all ranks). Absent in older files. */
      masked_tokens?: number;
    }
  | {
      type: "eval";
      step: number;
      time: number;
      samples: number;
      tokens: number;
      /** Cross-entropy over every predicted token of the eval set (Composer LanguageCrossEntropy). */
      loss: number;
      /** Top-1 accuracy over the predicted tokens (Composer MaskedAccuracy). */
      mlm_accuracy: number;
      eval_tokens: number;
    }
  | { type: "run"; step: number; time: number; event: "start" | "resume" | "stop" | "end" | "nan"; [k: string]: unknown }
  | ({
      /** MOSAICBERT_PROFILE_STEP=step: that step's device time (ms) in all, and as the profiler reports it per phase, op and GEMM shape. */
      type: "profile";
      step: number;
      time: number;
      total_ms: number;
    } & Pick<PhaseProfile, "phases" | "ops" | "calls" | "gemms">);

export const METRICS_FILE = "metrics.jsonl";

/** Appends JSON lines to `<saveFolder>/metrics.jsonl`; a resumed run drops lines past its checkpoint step first. */
export class MetricsWriter {
  readonly file: string;
  private fd: number;

  constructor(saveFolder: string, opts: { truncateAfterStep?: number } = {}) {
    fs.mkdirSync(saveFolder, { recursive: true });
    this.file = path.join(saveFolder, METRICS_FILE);
    if (opts.truncateAfterStep !== undefined && fs.existsSync(this.file)) {
      // Steps after the checkpoint will be run again: their old lines would duplicate the new ones.
      const keep = readMetrics(this.file).filter((r) => r.step <= opts.truncateAfterStep! && !(r.type === "run" && r.step === opts.truncateAfterStep && r.event !== "start" && r.event !== "resume"));
      fs.writeFileSync(this.file, keep.map((r) => JSON.stringify(r) + "\n").join(""));
    }
    this.fd = fs.openSync(this.file, "a");
  }

  write(r: MetricRecord): void {
    fs.writeSync(this.fd, JSON.stringify(r) + "\n");
  }

  close(): void {
    if (this.fd >= 0) {
      fs.fsyncSync(this.fd);
      fs.closeSync(this.fd);
      this.fd = -1;
    }
  }
}

/** Reads a metrics.jsonl file; a truncated last line (a killed run) is skipped, other bad lines are errors naming the line. */
export function readMetrics(file: string): MetricRecord[] {
  const text = fs.readFileSync(file, "utf8");
  const lines = text.split("\n");
  const out: MetricRecord[] = [];
  lines.forEach((line, i) => {
    if (!line.trim()) return;
    try {
      out.push(JSON.parse(line) as MetricRecord);
    } catch (e) {
      if (i === lines.length - 1) return;
      throw new Error(`${file}:${i + 1}: not a JSON line (${(e as Error).message})`);
    }
  });
  return out;
}
