import * as path from "node:path";
import { toHfConfig } from "@mosaicbert/layers";
import type { TensorInput } from "@mosaicbert/hub";
import { checkpointName, findLatest, loadCheckpoint, saveCheckpoint, type TrainerState } from "../../checkpoint/checkpoint.js";
import { removeStaleTemps } from "../../checkpoint/save-folder.js";
import type { TrainTextLoader } from "../../data/loader.js";
import { elapsed, type Session, type Trainee, type World } from "./session.js";

/** Where a run starts: step 0, or a checkpoint's counters (weights, optimizer and loader already restored). */
export interface StartPoint {
  step: number;
  samples: number;
  tokens: number;
  elapsedSeconds: number;
  /** The run clock's reading when this process started training (before any checkpoint is read). */
  clockStart: number;
  resumedFrom: string | null;
  /** Time-boxed runs: the saved schedule progress, the floor of the new measurement. */
  resumedProgress: number | null;
  /** The resumed run's id (run.json), when its checkpoint records one. */
  resumedRunId?: string;
}

/** Which checkpoint `--resume` names: "auto" is the newest of the save folder (or none yet). */
function resumeFolder(w: World, resume: string): string | null {
  if (resume !== "auto") return path.resolve(resume);
  if (!w.saveFolder) throw new Error("--resume auto needs a save folder (--save-folder or save_folder in the recipe)");
  const dir = findLatest(w.saveFolder);
  if (!dir) w.say(`resume auto: no checkpoint in ${w.saveFolder} yet; starting from scratch`);
  return dir;
}

/**
 * Phase 5: resumes from a checkpoint (weights, optimizer, loader position, counters) or, in a fresh
 * multi-process run, gives every rank rank 0's weights.
 */
export async function restoreCheckpoint(w: World, t: Trainee, loader: TrainTextLoader, resume: string | undefined): Promise<StartPoint> {
  // Temp folders of checkpoint writes killed mid-way (a base-model checkpoint is 1.6 GB); rank 0 is the only writer.
  if (w.lead && w.saveFolder) removeStaleTemps(w.saveFolder, w.say);
  const clockStart = w.clock();
  const fresh: StartPoint = { step: 0, samples: 0, tokens: 0, elapsedSeconds: 0, clockStart, resumedFrom: null, resumedProgress: null };
  if (!resume) {
    if (w.worldSize > 1) {
      // Every rank starts from rank 0's weights (they are equal by seed already; this makes it certain).
      await w.comm.broadcast(t.model.flat.params, 0);
      t.model.syncLowp();
    }
    return fresh;
  }
  const dir = resumeFolder(w, resume);
  if (!dir) return fresh;
  const ck = loadCheckpoint(dir);
  if (ck.state.worldSize !== w.worldSize) {
    w.say(`resume: the checkpoint was written by ${ck.state.worldSize} process(es), this run has ${w.worldSize}; the data order continues by global batch`);
  }
  const sd = new Map([...ck.tensors].map(([k, v]) => [k, { shape: v.shape, data: v.data }]));
  t.model.loadStateDict(sd, { file: dir });
  t.opt.loadState(ck.optimizer);
  loader.loadState(ck.state.loader as never, `${dir}/trainer_state.json: loader`);
  return {
    step: ck.state.step, samples: ck.state.samplesSeen, tokens: ck.state.tokensSeen, elapsedSeconds: ck.state.elapsedSeconds,
    clockStart, resumedFrom: dir, resumedProgress: ck.state.scheduleProgress ?? null, resumedRunId: ck.state.runId,
  };
}

/** What trainer_state.json records at this step. */
function trainerState(x: Session): TrainerState {
  const { w, run } = x;
  return {
    format: "mosaicbert-trainer-state",
    version: 1,
    step: run.step,
    samplesSeen: run.samples,
    tokensSeen: run.tokens,
    loader: run.position as unknown as Record<string, unknown>,
    seed: w.cfg.seed,
    elapsedSeconds: elapsed(run.timing),
    worldSize: w.worldSize,
    runName: w.cfg.run_name,
    recipe: w.cfg,
    lastLoss: run.lastLoss,
    ...(x.timeBox ? { scheduleProgress: run.progress } : {}),
    savedAt: new Date().toISOString(),
    ...(run.runId ? { runId: run.runId } : {}),
  };
}

/** Writes a checkpoint (rank 0: weights, optimizer, trainer state, tokenizer; atomically) and waits for every rank. */
export async function saveRun(x: Session): Promise<void> {
  const { w, t, run } = x;
  if (!w.saveFolder) return;
  if (w.lead) {
    const tensors = new Map<string, TensorInput>();
    for (const [name, e] of t.model.stateDictHost()) tensors.set(name, { dtype: "f32", shape: e.shape, data: e.data });
    run.lastCheckpoint = saveCheckpoint(
      w.saveFolder,
      checkpointName(run.position.epoch, run.step),
      { hfConfig: toHfConfig(t.modelConfig), tensors, optimizer: t.opt.state(), state: trainerState(x), files: x.data.tokenizerFiles },
      w.cfg.save_num_checkpoints_to_keep,
    );
  }
  await w.comm.barrier();
}

