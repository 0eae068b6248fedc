import { spawn } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { readMetrics } from "../log/metrics.js";
import { listCheckpoints } from "../checkpoint/checkpoint.js";
import type { PretrainOptions } from "../train/pretrain.js";

/** The tiny-cpu recipe on the shipped corpus, shrunk (hidden 64, batch 4 × 32) so a step takes a fraction of a second. */
export const SMALL = [
  "model.model_config.hidden_size=64",
  "model.model_config.intermediate_size=128",
  "global_train_batch_size=4",
  "device_train_microbatch_size=2",
  "max_seq_len=32",
  "global_eval_batch_size=16",
  "eval_subset_num_batches=1",
  "eval_interval=1000ba",
  "progress_bar=false",
  "log_to_console=false",
];

export const quiet = { write: () => true };

const dirs: string[] = [];
export function tmp(): string {
  const d = mkdtempSync(join(tmpdir(), "pretrain-"));
  dirs.push(d);
  return d;
}
export function cleanup(): void {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
}

/** [step, loss] of every train record of a save folder's metrics.jsonl. */
export const trainLosses = (folder: string) =>
  readMetrics(join(folder, "metrics.jsonl"))
    .filter((r) => r.type === "train")
    .map((r) => [r.step, (r as { loss: number }).loss] as const);

export const latestStep = (folder: string): number => {
  const cks = listCheckpoints(folder);
  return cks.length ? cks[cks.length - 1]!.step : -1;
};

const here = fileURLToPath(new URL(".", import.meta.url));

/** Runs pretrain() in a child process (TypeScript sources, no build); sends `signal` once `until()` holds. */
export function child(
  opts: PretrainOptions,
  until: () => boolean,
  signal: NodeJS.Signals,
): Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ["--import", join(here, "../from-source/register-ts.mjs"), join(here, "run-pretrain.ts"), JSON.stringify(opts)], {
      stdio: ["ignore", "ignore", "pipe"],
    });
    let stderr = "";
    p.stderr.on("data", (d) => (stderr += String(d)));
    let sent = false;
    const timer = setInterval(() => {
      if (!sent && until()) {
        sent = true;
        p.kill(signal);
      }
    }, 20);
    p.on("error", reject);
    p.on("exit", (code, sig) => {
      clearInterval(timer);
      resolve({ code, signal: sig, stderr });
    });
  });
}
