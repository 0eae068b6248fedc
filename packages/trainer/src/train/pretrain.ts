import type { PretrainConfig } from "../config/pretrain-schema.js";
import { restoreCheckpoint } from "./phases/checkpoint.js";
import { abandonSetUp, closeRun, finishRun, summarize } from "./phases/finish.js";
import { runLoop } from "./phases/loop.js";
import { chooseMicrobatch } from "./phases/microbatch.js";
import { planRun } from "./phases/plan.js";
import type { PretrainOptions, PretrainSummary, Session, Trainee, World } from "./phases/session.js";
import type { BatchProducer } from "./prefetch.js";
import { setUpData, startProducer } from "./phases/setup-data.js";
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
  // From here on the communicator is open: every error must close it (and what else exists), or
  // its sockets keep this process alive and the other ranks wait for it forever.
  const made: Made = {};
  let session: Session;
  try {
    session = made.session = await setUpRun(world, o, made);
    await runLoop(session);
    await finishRun(session);
  } finally {
    if (made.session) await closeRun(made.session);
    else await abandonSetUp(world, made.trainee, made.producer);
  }
  return summarize(session);
}

/** What setup has made so far, for the cleanup of a setup that fails. */
interface Made {
  trainee?: Trainee;
  producer?: BatchProducer;
  session?: Session;
}

/** Phases 2–6: data, model, plan, microbatch, checkpoint, start (each may fail; `made` keeps what exists). */
async function setUpRun(world: World, o: PretrainOptions, made: Made): Promise<Session> {
  const data = await setUpData(world);
  // The data workers boot (threads, tokenizer, the split) while the model is built, instead of during the first
  // step. A fresh run reads from the start, so its first batches are prepared meanwhile too; a resumed run's
  // position is known only once its checkpoint is read: its batches are asked for when the loop starts.
  const producer = (made.producer = startProducer(world, data, o.dataWorkers));
  if (!o.resume) producer.prefetch();
  const trainee = (made.trainee = setUpModel(world, data));
  const plan = planRun(world, data.loader.samplesPerEpoch);
  plan.M = await chooseMicrobatch(world, trainee, plan);
  const from = await restoreCheckpoint(world, trainee, data.loader, o.resume);
  return startRun(world, data, trainee, plan, from, o, producer);
}

export type { PretrainConfig };
