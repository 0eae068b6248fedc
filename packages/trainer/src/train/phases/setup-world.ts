import * as path from "node:path";
import { loadRecipe } from "../../config/load.js";
import { durationToSteps, parseDuration } from "../../config/duration.js";
import { checkSaveFolder } from "../../checkpoint/save-folder.js";
import { refuseUsedSaveFolder } from "../../checkpoint/run-folder.js";
import { cacheFolderFor } from "../../data/loader.js";
import { resolveDevice } from "../../device.js";
import { Progress } from "../../log/progress.js";
import { connectWorld, worldFromEnv } from "../world.js";
import { makeStepProfiler, profileStepFromEnv } from "./profile-step.js";
import type { PretrainOptions, World } from "./session.js";

/** Applies the CLI's shortcut options on top of the overrides, as `--set` keys. */
function overridesOf(o: PretrainOptions): string[] {
  const out = [...(o.overrides ?? [])];
  if (o.data !== undefined) {
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(o.data)) {
      // A remote dataset (s3://, gs://, hf://, http(s)://, file://): shards are downloaded into a local cache folder.
      out.push(`data_remote=${o.data}`, `data_local=${cacheFolderFor(o.data)}`);
    } else out.push(`data_local=${path.resolve(o.data)}`);
  }
  if (o.device !== undefined) out.push(`device=${o.device}`);
  if (o.maxDuration !== undefined) out.push(`max_duration=${o.maxDuration}`);
  if (o.saveFolder !== undefined) out.push(`save_folder=${o.saveFolder}`);
  return out;
}

/** Phase 1: the recipe, this process's rank, its device and the communicator to the other ranks. */
export async function setUpWorld(o: PretrainOptions): Promise<World> {
  const env = worldFromEnv();
  const worldSize = o.comm?.worldSize ?? env.worldSize;
  const rank = o.comm?.rank ?? env.rank;
  const { config: cfg, file: recipeFile, warnings } = loadRecipe(o.config ?? "tiny-cpu", { overrides: overridesOf(o), worldSize });
  // Before anything is created: a save folder under /proc would hang Node 20's recursive mkdir.
  if (cfg.save_folder) checkSaveFolder(cfg.save_folder);
  // One run per save folder: a fresh run does not mix its checkpoints and metrics with an old run's.
  if (cfg.save_folder && !o.resume && rank === 0) refuseUsedSaveFolder(cfg.save_folder);
  const stderr = o.stderr ?? process.stderr;
  const lead = rank === 0;
  const interval = durationToSteps(parseDuration(cfg.console_log_interval), { globalBatchSize: 1, tokensPerSample: 1 }) ?? 1;
  const progress = new Progress(stderr, { bar: cfg.progress_bar, interval, enabled: lead && cfg.log_to_console });
  const say = (msg: string) => {
    if (lead) progress.log(msg);
  };
  for (const w of warnings) say(`warning: ${recipeFile}: ${w}`);

  const profileStep = profileStepFromEnv();
  const device = await resolveDevice(cfg.device, { localRank: env.localRank, note: say });
  const profiler = profileStep !== null && device.cuda ? await makeStepProfiler(profileStep, device.cuda) : null;
  if (profileStep !== null && !profiler) say("MOSAICBERT_PROFILE_STEP: ignored on the CPU (the profile times CUDA events)");
  const backend = profiler ? profiler.prof.backend : device.backend;
  const comm = o.comm ?? (await connectWorld({ ...env, worldSize, rank }, backend));
  const bf16 = cfg.precision === "amp_bf16" && device.kind === "cuda";
  if (cfg.precision === "amp_bf16" && !bf16) say("precision amp_bf16 is the CUDA path; the CPU trains in fp32");
  const saveFolder = cfg.save_folder ? path.resolve(cfg.save_folder) : null;
  const clock = o.clock ?? (() => performance.now());
  return { cfg, recipeFile, rank, worldSize, lead, device, backend, comm, ownsComm: !o.comm, bf16, saveFolder, progress, clock, say, profiler };
}
