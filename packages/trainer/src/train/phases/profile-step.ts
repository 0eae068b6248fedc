import type { CudaBackend, PhaseProfiler } from "@mosaicbert/kernels-cuda";
import { formatGemms, formatPhases } from "../../log/profile-format.js";
import { elapsed, type Session } from "./session.js";

/**
 * `MOSAICBERT_PROFILE_STEP=N`: training step N (numbered as in metrics.jsonl, from 1) timed op by op with CUDA
 * events — device milliseconds per phase, per op and per GEMM shape, as `mosaicbert bench --profile` reports
 * them, but for a step of the real run (its data, clipping, guard and uploads included). Printed, and written
 * to metrics.jsonl as a `profile` row. The host waits for the device at the end of that step, so its step_ms
 * includes the wait.
 */
export interface StepProfiler {
  step: number;
  prof: PhaseProfiler;
}

/** The step to profile from the environment, or null; anything but a whole number ≥ 1 is refused. */
export function profileStepFromEnv(env: NodeJS.ProcessEnv = process.env): number | null {
  const v = env.MOSAICBERT_PROFILE_STEP;
  if (v === undefined || v === "") return null;
  if (!/^[1-9][0-9]{0,8}$/.test(v)) {
    throw new Error(`MOSAICBERT_PROFILE_STEP: expected the number of the training step to profile (1, 2, …), got ${JSON.stringify(v)}`);
  }
  return Number(v);
}

/** A profiler on `cuda` for step `step`: build the model on its `prof.backend`. */
export async function makeStepProfiler(step: number, cuda: CudaBackend): Promise<StepProfiler> {
  const { PhaseProfiler } = await import("@mosaicbert/kernels-cuda");
  return { step, prof: new PhaseProfiler(cuda) };
}

/** Starts timing when the step launched next is the one to profile (`index`: steps before it). */
export function beginProfile(x: Session, index: number): boolean {
  const p = x.w.profiler;
  if (!p || p.step !== index + 1) return false;
  p.prof.begin();
  return true;
}

/** Ends the region begun by `beginProfile` (waits for the device), prints it and writes its metrics row. */
export function endProfile(x: Session, index: number): void {
  const { w } = x;
  const r = w.profiler!.prof.end();
  const step = index + 1;
  w.say(`profile of step ${step}: ${r.totalMs.toFixed(2)} ms on the device — ${formatPhases(r.phases)}`);
  if (r.gemms.length) w.say(`  slowest GEMM shapes (M×N×K, op(a)·op(b)): ${formatGemms(r.gemms)}`);
  x.metrics?.write({ type: "profile", step, time: elapsed(x.run.timing), total_ms: r.totalMs, phases: r.phases, ops: r.ops, calls: r.calls, gemms: r.gemms });
}
