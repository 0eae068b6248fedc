import * as fs from "node:fs";
import * as path from "node:path";
import { loadModelFolder, readSafetensors, saveModelFolder, writeSafetensors, type TensorInput } from "@mosaicbert/hub";
import { type AdamWState, remoteCodeFiles } from "@mosaicbert/layers";
import { fsyncDir, fsyncFiles, writeFileDurable } from "./fsync.js";
import { checkSaveFolder } from "./save-folder.js";

/**
 * Training checkpoints. A save folder holds:
 *
 *   checkpoints/ep{E}-ba{B}/         one folder per checkpoint, complete or absent:
 *     config.json, model.safetensors   Hugging Face layout (`mosaicbert infer --model` loads it)
 *     vocab.txt, tokenizer_config.json the tokenizer, so the folder is a usable model on its own
 *     optimizer.safetensors            AdamW moments (float32, names m.0 / v.0 …), step in metadata
 *     trainer_state.json               step, samples, tokens, epoch, data-loader state, RNG seed, …
 *   latest                           the name of the newest complete checkpoint
 *   metrics.jsonl                    per-step and per-eval metrics (see metrics.ts)
 *
 *   run.json                         which run owns the folder (run-folder.ts): one run per save folder
 *
 * A checkpoint is written into a hidden temp folder, every file fsynced, then renamed into place,
 * then `latest` is replaced atomically: a crash at any moment leaves the previous checkpoint and
 * pointer intact. Each checkpoint records its run (`runId`) and its place in the folder's write order
 * (`saveSeq`); pruning keeps the newest `keep` written by this run — not the highest steps, which after
 * a resume from an earlier step belong to the abandoned continuation. A folder leaves the checkpoint
 * set by being renamed to a hidden `.deleting-…` name first, so a kill mid-prune never leaves a
 * half-deleted folder under a checkpoint name.
 */

export const CHECKPOINTS_DIR = "checkpoints";
export const LATEST_FILE = "latest";
export const TRAINER_STATE_FILE = "trainer_state.json";
export const OPTIMIZER_FILE = "optimizer.safetensors";

/** Everything besides the tensors that a resumed run needs to continue identically. */
export interface TrainerState {
  format: "mosaicbert-trainer-state";
  version: 1;
  /** Optimizer steps done. */
  step: number;
  samplesSeen: number;
  tokensSeen: number;
  /** Training-loader state (epoch, samples of that epoch consumed, …), as the loader returns it. */
  loader: Record<string, unknown>;
  /** The run seed: model init, masking, dropout and shuffling all derive from it and the step. */
  seed: number;
  /** Wall-clock seconds of training so far (time-boxed durations and ETA continue from it). */
  elapsedSeconds: number;
  worldSize: number;
  runName: string;
  /** The fully resolved recipe the run was started with. */
  recipe: unknown;
  /** Losses of the last steps, for the NaN report and the final summary. */
  lastLoss: number | null;
  /** Time-boxed runs: the schedule progress (share of projected steps, 0–1) of the last step; a resume never goes below it. */
  scheduleProgress?: number;
  /** When written (ISO time). */
  savedAt: string;
  /** The run this checkpoint belongs to (kept across resumes; absent in older checkpoints). */
  runId?: string;
  /** Position in the save folder's write order (set by saveCheckpoint; absent in older checkpoints). */
  saveSeq?: number;
}

export interface CheckpointPayload {
  hfConfig: Record<string, unknown>;
  /** Model weights by reference name (float32). */
  tensors: Map<string, TensorInput>;
  optimizer: AdamWState;
  state: TrainerState;
  /** Extra files for the folder (the tokenizer): name → contents. */
  files?: Record<string, string | Uint8Array>;
}

export function checkpointName(epoch: number, step: number): string {
  return `ep${epoch}-ba${step}`;
}

/** Files a checkpoint folder must hold to count as one (the model, the optimizer, the state written last). */
const REQUIRED = ["config.json", "model.safetensors", OPTIMIZER_FILE, TRAINER_STATE_FILE];

let deleting = 0;

/**
 * Removes a folder so that it is never seen half-deleted under its own name: renamed to a hidden
 * `.deleting-<name>-<pid>-<n>` first (atomic), then deleted. A kill in between leaves only the hidden
 * folder, which removeStaleTemps clears at the next start.
 */
export function removeAtomically(dir: string): void {
  const hidden = path.join(path.dirname(dir), `.deleting-${path.basename(dir)}-${process.pid}-${++deleting}`);
  try {
    fs.renameSync(dir, hidden);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return;
    throw e;
  }
  fs.rmSync(hidden, { recursive: true, force: true });
}

/**
 * Writes a checkpoint atomically, points `latest` at it, then prunes this run's checkpoints beyond the
 * newest `keep` written (≤ 0 keeps all). `p.state.runId` names the run; `saveSeq` is set here.
 */
export function saveCheckpoint(saveFolder: string, name: string, p: CheckpointPayload, keep = -1): string {
  checkSaveFolder(saveFolder);
  const root = path.join(saveFolder, CHECKPOINTS_DIR);
  fs.mkdirSync(root, { recursive: true });
  const final = path.join(root, name);
  const tmp = path.join(root, `.tmp-${name}-${process.pid}`);
  fs.rmSync(tmp, { recursive: true, force: true });
  const saveSeq = Math.max(0, ...checkpointStates(saveFolder).map((c) => c.saveSeq)) + 1;
  try {
    // MosaicBERT folders carry the PyTorch code their config.json's auto_map names (transformers, trust_remote_code).
    saveModelFolder(tmp, { config: p.hfConfig, tensors: p.tensors, tokenizerFiles: { ...p.files, ...remoteCodeFiles(p.hfConfig) }, modelCard: false });
    const opt = new Map<string, TensorInput>();
    p.optimizer.m.forEach((m, i) => opt.set(`m.${i}`, { dtype: "f32", shape: [m.length], data: m }));
    p.optimizer.v.forEach((v, i) => opt.set(`v.${i}`, { dtype: "f32", shape: [v.length], data: v }));
    writeSafetensors(path.join(tmp, OPTIMIZER_FILE), opt, { step: String(p.optimizer.step), count: String(p.optimizer.m.length) });
    fs.writeFileSync(path.join(tmp, TRAINER_STATE_FILE), JSON.stringify({ ...p.state, saveSeq }, null, 2) + "\n");
    fsyncFiles(tmp);
    // A checkpoint of the same name (a re-save at the same step) is replaced whole, never half-deleted.
    removeAtomically(final);
    fs.renameSync(tmp, final);
    fsyncDir(root);
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw new Error(`checkpoint: could not write ${final}: ${(e as Error).message}`);
  }
  writeFileDurable(path.join(saveFolder, LATEST_FILE), `${CHECKPOINTS_DIR}/${name}\n`);
  if (keep > 0) prune(saveFolder, keep, p.state.runId);
  return final;
}

/** Complete checkpoints of a save folder (every required file present), oldest first (by step). */
export function listCheckpoints(saveFolder: string): Array<{ name: string; dir: string; step: number }> {
  const root = path.join(saveFolder, CHECKPOINTS_DIR);
  if (!fs.existsSync(root)) return [];
  return fs
    .readdirSync(root)
    .map((name) => ({ name, m: /^ep(\d+)-ba(\d+)$/.exec(name) }))
    .filter((x) => x.m && REQUIRED.every((f) => fs.existsSync(path.join(root, x.name, f))))
    .map((x) => ({ name: x.name, dir: path.join(root, x.name), step: Number(x.m![2]) }))
    .sort((a, b) => a.step - b.step);
}

/** Complete checkpoints with their run and write order (0 for older checkpoints without one), oldest written first. */
export function checkpointStates(saveFolder: string): Array<{ name: string; dir: string; step: number; runId: string | null; saveSeq: number }> {
  return listCheckpoints(saveFolder)
    .map((c) => {
      let st: Partial<TrainerState> = {};
      try {
        st = JSON.parse(fs.readFileSync(path.join(c.dir, TRAINER_STATE_FILE), "utf8")) as Partial<TrainerState>;
      } catch {
        // Unreadable state: loadCheckpoint reports it if this one is ever chosen.
      }
      const seq = typeof st.saveSeq === "number" && Number.isSafeInteger(st.saveSeq) ? st.saveSeq : 0;
      return { ...c, runId: typeof st.runId === "string" ? st.runId : null, saveSeq: seq };
    })
    .sort((a, b) => a.saveSeq - b.saveSeq || a.step - b.step);
}

/** Removes this run's checkpoints beyond the newest `keep` written; other runs' checkpoints are never touched. */
function prune(saveFolder: string, keep: number, runId: string | undefined): void {
  const mine = checkpointStates(saveFolder).filter((c) => c.runId === (runId ?? null));
  for (const c of mine.slice(0, Math.max(0, mine.length - keep))) removeAtomically(c.dir);
}

/**
 * The checkpoint `--resume auto` continues from: the complete one `latest` names — unless one was
 * written after it (a crash between the rename of a new checkpoint and the update of `latest`), then
 * that one. Without a usable pointer, the newest written. Null when there is none.
 */
export function findLatest(saveFolder: string): string | null {
  const all = checkpointStates(saveFolder);
  if (!all.length) return null;
  const pointer = path.join(saveFolder, LATEST_FILE);
  const rel = fs.existsSync(pointer) ? fs.readFileSync(pointer, "utf8").trim() : "";
  // Followed only to a checkpoint of this folder: a pointer elsewhere is not this run's.
  const dir = rel ? path.resolve(saveFolder, rel) : null;
  const newest = all[all.length - 1]!;
  const named = all.find((c) => c.dir === dir);
  if (named && !(newest.saveSeq > named.saveSeq && newest.runId === named.runId)) return named.dir;
  return newest.dir;
}

export interface LoadedCheckpoint {
  dir: string;
  hfConfig: Record<string, unknown>;
  /** Model tensors as float32 host arrays. */
  tensors: Map<string, { shape: number[]; data: Float32Array }>;
  optimizer: AdamWState;
  state: TrainerState;
}

function f32(data: Uint8Array): Float32Array {
  // Copy: safetensors views may be unaligned.
  const out = new Float32Array(data.byteLength / 4);
  new Uint8Array(out.buffer).set(data);
  return out;
}

/** Reads a checkpoint folder written by saveCheckpoint; errors name the file and the field. */
export function loadCheckpoint(dir: string): LoadedCheckpoint {
  const stateFile = path.join(dir, TRAINER_STATE_FILE);
  if (!fs.existsSync(stateFile)) throw new Error(`checkpoint: ${dir} is not a training checkpoint (no ${TRAINER_STATE_FILE})`);
  let state: TrainerState;
  try {
    state = JSON.parse(fs.readFileSync(stateFile, "utf8")) as TrainerState;
  } catch (e) {
    throw new Error(`checkpoint: ${stateFile}: not valid JSON (${(e as Error).message})`);
  }
  if (state.format !== "mosaicbert-trainer-state" || state.version !== 1) {
    throw new Error(`checkpoint: ${stateFile}: format: expected mosaicbert-trainer-state version 1, got ${String(state.format)} ${String(state.version)}`);
  }
  for (const k of ["step", "samplesSeen", "tokensSeen", "seed", "elapsedSeconds"] as const) {
    if (typeof state[k] !== "number" || !Number.isFinite(state[k])) throw new Error(`checkpoint: ${stateFile}: ${k}: expected a number, got ${JSON.stringify(state[k])}`);
  }
  if (state.runId !== undefined && typeof state.runId !== "string") throw new Error(`checkpoint: ${stateFile}: runId: expected a string, got ${JSON.stringify(state.runId)}`);
  const sp = state.scheduleProgress;
  if (sp !== undefined && sp !== null && !(typeof sp === "number" && sp >= 0 && sp <= 1)) {
    throw new Error(`checkpoint: ${stateFile}: scheduleProgress: expected a number in [0, 1], got ${JSON.stringify(sp)}`);
  }
  const folder = loadModelFolder(dir);
  const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
  for (const [name, e] of folder.tensors) {
    if (e.dtype !== "f32") throw new Error(`checkpoint: ${dir}: tensor '${name}': expected F32 master weights, got ${e.dtype}`);
    tensors.set(name, { shape: e.shape, data: f32(e.data) });
  }
  const optFile = path.join(dir, OPTIMIZER_FILE);
  if (!fs.existsSync(optFile)) throw new Error(`checkpoint: ${dir}: ${OPTIMIZER_FILE} is missing`);
  const opt = readSafetensors(optFile);
  const m: Float32Array[] = [];
  const v: Float32Array[] = [];
  for (let i = 0; opt.has(`m.${i}`); i++) {
    const vi = opt.get(`v.${i}`);
    if (!vi) throw new Error(`checkpoint: ${optFile}: tensor 'v.${i}' is missing`);
    m.push(f32(opt.get(`m.${i}`)!.data));
    v.push(f32(vi.data));
  }
  return { dir, hfConfig: folder.config, tensors, optimizer: { step: state.step, m, v }, state };
}
