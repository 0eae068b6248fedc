/**
 * Learning-rate schedules, as multipliers of the peak learning rate, stepped once per optimizer
 * step (Composer semantics: the LR used by batch `t` (0-based) is lr_peak · m(t), so with warmup
 * the very first batch runs at lr 0, as Composer's LambdaLR-based schedulers do).
 *
 * Every schedule is a pure function of (t, T) in optimizer steps; the trainer converts durations
 * given in samples, tokens, epochs or fractions of the run ("0.06dur") to steps before building one.
 */

export type ScheduleSpec =
  /** Composer LinearWithWarmupScheduler: 0 → 1 over warmup, then linearly to alphaF at T. */
  | { kind: "linear_decay_with_warmup"; warmupSteps: number; alphaF: number }
  /** Composer ConstantWithWarmupScheduler (warmupSteps 0 = ConstantScheduler with alpha 1). */
  | { kind: "constant_with_warmup"; warmupSteps: number; alpha?: number }
  /** Composer CosineAnnealingWithWarmupScheduler: warmup, then alphaF + (1 − alphaF)·½(1 + cos πτ). */
  | { kind: "cosine_with_warmup"; warmupSteps: number; alphaF: number };

export interface Schedule {
  readonly spec: ScheduleSpec;
  /** Total optimizer steps T of the run. */
  readonly totalSteps: number;
  /** Multiplier of the peak learning rate at step t (0-based). */
  multiplier(t: number): number;
}

function checkSteps(name: string, v: number): void {
  if (!Number.isFinite(v) || v < 0 || !Number.isInteger(v)) {
    throw new RangeError(`schedule: ${name} must be a non-negative integer number of steps, got ${v}`);
  }
}

/** Builds the schedule for a run of `totalSteps` optimizer steps. */
export function makeSchedule(spec: ScheduleSpec, totalSteps: number): Schedule {
  checkSteps("totalSteps", totalSteps);
  checkSteps("warmupSteps", spec.warmupSteps);
  const tw = spec.warmupSteps;
  const T = totalSteps;
  let f: (t: number) => number;
  switch (spec.kind) {
    case "linear_decay_with_warmup": {
      const a = spec.alphaF;
      f = (t) => {
        if (t < tw) return t / tw;
        // Past T the multiplier stays at alphaF (Composer clamps the fraction to 1); a run no
        // longer than its warmup stays at 1, as Composer does.
        const frac = T > tw ? Math.min(1, (t - tw) / (T - tw)) : 0;
        return 1 + (a - 1) * frac;
      };
      break;
    }
    case "constant_with_warmup": {
      const alpha = spec.alpha ?? 1;
      f = (t) => (t < tw ? (t / tw) * alpha : alpha);
      break;
    }
    case "cosine_with_warmup": {
      const a = spec.alphaF;
      f = (t) => {
        if (t < tw) return t / tw;
        const tau = T > tw ? Math.min(1, (t - tw) / (T - tw)) : 0;
        return a + (1 - a) * 0.5 * (1 + Math.cos(Math.PI * tau));
      };
      break;
    }
    default:
      throw new TypeError(`schedule: unknown kind '${(spec as { kind: string }).kind}'`);
  }
  return {
    spec,
    totalSteps: T,
    multiplier(t: number): number {
      if (!Number.isFinite(t) || t < 0) throw new RangeError(`schedule: step must be ≥ 0, got ${t}`);
      return f(t);
    },
  };
}
