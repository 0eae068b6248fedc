/**
 * Training durations in Composer's notation: an amount and a unit, e.g. "2000ba" (optimizer steps
 * = batches), "286720000sp" (samples), "36700000000tok" (tokens), "1ep" (epochs), "0.06dur" (a
 * fraction of the whole run), plus wall-clock units "30s", "10min", "2h" for time-boxed runs.
 */
export type DurationUnit = "ba" | "sp" | "tok" | "ep" | "dur" | "s" | "min" | "h";

export const DURATION_UNITS: readonly DurationUnit[] = ["ba", "sp", "tok", "ep", "dur", "s", "min", "h"];

export interface Duration {
  value: number;
  unit: DurationUnit;
}

const RE = /^\s*([0-9]+(?:\.[0-9]*)?(?:e[+-]?[0-9]+)?|\.[0-9]+)\s*(ba|sp|tok|ep|dur|s|sec|min|h)\s*$/i;

/** Parses "2000ba", "0.06dur", "10min", …; throws a message naming the expected form. */
export function parseDuration(text: string, what = "duration"): Duration {
  const m = RE.exec(String(text));
  if (!m) {
    throw new TypeError(
      `${what}: expected a number followed by a unit (ba, sp, tok, ep, dur, s, min, h), e.g. "2000ba", "0.06dur" or "10min", got ${JSON.stringify(text)}`,
    );
  }
  const value = Number(m[1]);
  let unit = m[2]!.toLowerCase();
  if (unit === "sec") unit = "s";
  const u = unit as DurationUnit;
  if (!Number.isFinite(value) || value < 0) throw new TypeError(`${what}: amount must be ≥ 0, got ${m[1]}`);
  const integral: DurationUnit[] = ["ba", "sp", "tok", "ep"];
  if (integral.includes(u) && !Number.isInteger(value)) {
    throw new TypeError(`${what}: ${u} needs a whole number, got ${m[1]}`);
  }
  if (u === "dur" && value > 1) throw new TypeError(`${what}: a fraction of the run ("dur") must be in [0, 1], got ${m[1]}`);
  return { value, unit: u };
}

export function formatDuration(d: Duration): string {
  return `${d.value}${d.unit}`;
}

/** Seconds of a wall-clock duration, or null for other units. */
export function durationSeconds(d: Duration): number | null {
  if (d.unit === "s") return d.value;
  if (d.unit === "min") return d.value * 60;
  if (d.unit === "h") return d.value * 3600;
  return null;
}

/** What the run knows to convert a duration into optimizer steps. */
export interface StepContext {
  /** Samples per optimizer step (the global batch). */
  globalBatchSize: number;
  /** Token positions per sample (max_seq_len: Composer counts padded input_ids). */
  tokensPerSample: number;
  /** Samples per epoch of the training split (after drop_last), when known. */
  samplesPerEpoch?: number | null;
  /** Total steps of the run, to resolve "dur" fractions. */
  totalSteps?: number | null;
}

/**
 * Converts a duration to a whole number of optimizer steps. Samples and tokens round up to whole
 * batches (Composer stops after the batch that reaches the amount); fractions of the run truncate
 * (Composer's Time is integral: int(max · fraction)). Wall-clock durations have no step count: null.
 */
export function durationToSteps(d: Duration, ctx: StepContext, what = "duration"): number | null {
  switch (d.unit) {
    case "ba":
      return d.value;
    case "sp":
      return Math.ceil(d.value / ctx.globalBatchSize);
    case "tok":
      return Math.ceil(d.value / (ctx.globalBatchSize * ctx.tokensPerSample));
    case "ep": {
      if (ctx.samplesPerEpoch == null) throw new TypeError(`${what}: "ep" needs the dataset size, which is unknown here`);
      const perEpoch = Math.floor(ctx.samplesPerEpoch / ctx.globalBatchSize);
      if (perEpoch === 0) throw new TypeError(`${what}: one epoch of ${ctx.samplesPerEpoch} samples holds no full batch of ${ctx.globalBatchSize}`);
      return d.value * perEpoch;
    }
    case "dur":
      if (ctx.totalSteps == null) throw new TypeError(`${what}: a fraction of the run ("dur") needs a step-based max_duration`);
      return Math.floor(d.value * ctx.totalSteps);
    default:
      return null;
  }
}
