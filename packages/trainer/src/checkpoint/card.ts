import * as fs from "node:fs";
import * as path from "node:path";
import type { ModelCardOptions } from "@mosaicbert/hub";
import { METRICS_FILE, type MetricRecord, readMetrics } from "../log/metrics.js";
import { CHECKPOINTS_DIR, TRAINER_STATE_FILE, type TrainerState } from "./checkpoint.js";

type CardFacts = Omit<ModelCardOptions, "config" | "repo">;

function recipeOf(state: TrainerState): Record<string, unknown> {
  return state.recipe !== null && typeof state.recipe === "object" ? (state.recipe as Record<string, unknown>) : {};
}

/** Where the data came from, without the local paths of the machine that trained. */
function dataName(recipe: Record<string, unknown>): string | null {
  const remote = recipe.data_remote;
  if (typeof remote === "string" && remote) return remote;
  const local = recipe.data_local;
  if (typeof local !== "string" || !local) return null;
  if (/[\\/]assets[\\/]sample-corpus[\\/]?$/.test(local)) return "the English sample corpus shipped with @mosaicbert/trainer";
  return path.basename(local.replace(/[\\/]+$/, ""));
}

/** metrics.jsonl of the run a model folder belongs to: in the folder, or in the save folder of a checkpoint. */
function metricsFile(dir: string): string | null {
  const abs = path.resolve(dir);
  const candidates = [path.join(abs, METRICS_FILE)];
  if (path.basename(path.dirname(abs)) === CHECKPOINTS_DIR) candidates.push(path.join(path.dirname(path.dirname(abs)), METRICS_FILE));
  return candidates.find((f) => fs.existsSync(f)) ?? null;
}

const pct = (x: number): string => `${+(100 * x).toFixed(2)}%`;

/**
 * The model-card facts of a folder the trainer wrote: training (steps, samples, tokens, wall clock, batch,
 * sequence length, masking, learning rate, precision, data) from trainer_state.json, and the held-out MLM
 * metrics of the last evaluation at or before the checkpoint's step from the run's metrics.jsonl. Missing
 * or unreadable files give fewer facts, never an error: any model folder can be published.
 */
export function checkpointCardFacts(dir: string): CardFacts {
  const facts: CardFacts = {};
  let step: number | null = null;
  const stateFile = path.join(dir, TRAINER_STATE_FILE);
  if (fs.existsSync(stateFile)) {
    try {
      const state = JSON.parse(fs.readFileSync(stateFile, "utf8")) as TrainerState;
      const r = recipeOf(state);
      step = typeof state.step === "number" ? state.step : null;
      const optimizer = (r.optimizer ?? {}) as Record<string, unknown>;
      const rows: Record<string, string | number> = {};
      if (step !== null) rows["optimizer steps"] = step;
      if (typeof state.samplesSeen === "number") rows.samples = state.samplesSeen;
      if (typeof state.tokensSeen === "number") rows["tokens (padded positions)"] = state.tokensSeen;
      if (typeof state.elapsedSeconds === "number") rows["training time"] = `${(state.elapsedSeconds / 60).toFixed(1)} min on ${state.worldSize ?? 1} process${(state.worldSize ?? 1) > 1 ? "es" : ""}`;
      if (typeof r.global_train_batch_size === "number") rows["batch size"] = r.global_train_batch_size;
      if (typeof r.max_seq_len === "number") rows["sequence length"] = r.max_seq_len;
      if (typeof r.mlm_probability === "number") rows["masking rate"] = pct(r.mlm_probability);
      if (typeof optimizer.lr === "number") rows["peak learning rate"] = String(optimizer.lr);
      if (typeof r.precision === "string") rows.precision = r.precision;
      const data = dataName(r);
      if (data) rows.data = data;
      facts.training = rows;
      if (typeof state.runName === "string" && state.runName) facts.trainingNotes = `Run \`${state.runName}\`, recipe keys as in the MosaicML reference yamls; pretrained from scratch with \`mosaicbert pretrain\`.`;
    } catch {
      // an unreadable trainer_state.json only makes the card shorter
    }
  }
  const mf = metricsFile(dir);
  if (mf) {
    let records: MetricRecord[] = [];
    try {
      records = readMetrics(mf);
    } catch {
      records = [];
    }
    const evals = records.filter((m): m is Extract<MetricRecord, { type: "eval" }> => m.type === "eval" && (step === null || m.step <= step));
    const last = evals.at(-1);
    if (last) {
      facts.results = {
        "held-out MLM accuracy (15% masking)": pct(last.mlm_accuracy),
        "held-out MLM loss": last.loss.toFixed(4),
        "evaluated at step": last.step,
        "masked tokens evaluated": last.eval_tokens,
      };
    }
  }
  return facts;
}
