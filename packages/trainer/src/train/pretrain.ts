import type { PretrainConfig } from "../config/pretrain-schema.js";
import { restoreCheckpoint } from "./phases/checkpoint.js";
import { closeRun, finishRun, summarize } from "./phases/finish.js";
import { runLoop } from "./phases/loop.js";
import { chooseMicrobatch } from "./phases/microbatch.js";
import { planRun } from "./phases/plan.js";
import type { PretrainOptions, PretrainSummary } from "./phases/session.js";
import { setUpData } from "./phases/setup-data.js";
import { setUpModel } from "./phases/setup-model.js";
import { setUpWorld } from "./phases/setup-world.js";
import { startRun } from "./phases/start.js";

export type { PretrainOptions, PretrainSummary, RunStatus } from "./phases/session.js";

/**
 * Pretrains a masked-LM model as the recipe says: microbatched gradient accumulation, decoupled
 * AdamW with the LR schedule, periodic evaluation at a fixed 15% masking, atomic checkpoints,
 * exact resume, data parallelism across processes. See the package README.
 *
 * Read top to bottom; each phase is one function of ./phases/:
 *   setup-world   recipe, rank, device, communicator
 *   setup-data    tokenizer, training loader, eval batches
 *   setup-model   model and optimizer
 *   plan          duration, schedule, eval and save intervals
 *   microbatch    device_train_microbatch_size "auto": the largest that fits the GPU, measured
 *   checkpoint    resume (or rank 0's weights everywhere), and saving
 *   start         counters, metrics, opening line, batch producer, signal handlers
 *   loop          the loop; train-step: the step; evaluate: the evaluation
 *   finish        last eval and checkpoint, cleanup, summary
 */
export async function pretrain(o: PretrainOptions = {}): Promise<PretrainSummary> {
  const world = await setUpWorld(o);
  const data = await setUpData(world);
  const trainee = setUpModel(world, data);
  const plan = planRun(world, data.loader.samplesPerEpoch);
  plan.M = await chooseMicrobatch(world, trainee, plan);
  const from = await restoreCheckpoint(world, trainee, data.loader, o.resume);
  const session = startRun(world, data, trainee, plan, from, o);
  try {
    await runLoop(session);
    await finishRun(session);
  } finally {
    await closeRun(session);
  }
  return summarize(session);
}

export type { PretrainConfig };
