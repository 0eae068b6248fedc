/**
 * `embed-bench run --profile`: where one pass of Embedder.encodeIds spends its time. Two extra passes after
 * the timed ones (which it leaves alone):
 *   1. host timings only (EncodeTimings, no events): wall clock split into planning, launching (JS building
 *      batches and queuing ops), finishing rows, waiting for the device at reads, copying rows back;
 *   2. on the CUDA backend, the same with CUDA events around every op (PhaseProfiler) and a section per
 *      forward pass: device time per op and phase, GEMMs by shape, idle device time, and per batch its
 *      device time (busy: its ops) beside the host's launch time.
 * A forward whose device time is far above its ops' time waited for the host; a pass whose host waits
 * (read wait) are most of its wall clock is device-bound.
 */
import type { EncodeOptions, EncodeTimings, Embedder } from "@mosaicbert/inference";
import type { PhaseProfile, PhaseProfiler } from "@mosaicbert/kernels-cuda";

/** Host milliseconds of one pass, summed from its EncodeTimings. */
export interface HostSummary {
  /** The whole call (wall clock). */
  wallMs: number;
  /** Sorting the texts into batches, allocating the output. */
  planMs: number;
  /** JS building the padded batches and queuing their ops (Σ over batches). */
  launchMs: number;
  launchMsPerBatch: number;
  /** Rows of read chunks finished on the host after launches (overlapped with device work). */
  finishMs: number;
  /** Waiting for the device at reads. */
  waitMs: number;
  /** Copying pooled rows back. */
  copyMs: number;
  /** Finishing rows after the last launch. */
  tailFinishMs: number;
  /** What the call spent outside all of the above (bookkeeping between batches). */
  otherMs: number;
  batches: number;
  reads: number;
}

export function hostSummary(t: EncodeTimings): HostSummary {
  const sum = (xs: number[]): number => xs.reduce((a, b) => a + b, 0);
  const launchMs = sum(t.batches.map((b) => b.launchMs));
  const finishMs = sum(t.batches.map((b) => b.finishMs));
  const waitMs = sum(t.reads.map((r) => r.waitMs));
  const copyMs = sum(t.reads.map((r) => r.copyMs));
  const known = t.planMs + launchMs + finishMs + waitMs + copyMs + t.tailFinishMs;
  return {
    wallMs: t.totalMs, planMs: t.planMs, launchMs, launchMsPerBatch: t.batches.length ? launchMs / t.batches.length : 0, finishMs, waitMs, copyMs,
    tailFinishMs: t.tailFinishMs, otherMs: Math.max(0, t.totalMs - known), batches: t.batches.length, reads: t.reads.length,
  };
}

/** One forward pass of the profiled pass. */
export interface BatchProfile {
  texts: number;
  seqLen: number;
  tokens: number;
  launchMs: number;
  finishMs: number;
  /** Device time from the end of the previous batch's work to the end of this one's (idle included); null on the CPU. */
  deviceMs: number | null;
  /** Device time of this batch's ops. */
  busyMs: number | null;
}

export interface DeviceProfile extends Pick<PhaseProfile, "phases" | "ops" | "calls" | "gemms"> {
  /** Device time of the evented pass, from its first op to its end. */
  totalMs: number;
  /** Σ over ops; the rest (`idleMs`) the device waited for the host (launches, reads, copies). */
  busyMs: number;
  idleMs: number;
  /** totalMs over the forward passes. */
  perForwardMs: number;
  /** Device time after the last launch (the last read's copy, idle). */
  tailMs: number;
  /** cudaMalloc calls during the evented pass (a warm pass makes none). */
  mallocs: number | null;
  /** The evented pass's host timings (events add host work per op). */
  host: HostSummary;
}

export interface EmbedProfile {
  host: HostSummary;
  device: DeviceProfile | null;
  batches: BatchProfile[];
}

/** Runs the two profiled passes (see the file's comment); `prof` null: the host pass only (CPU). */
export function profileEmbed(
  e: Embedder, rows: readonly Int32Array[], opts: EncodeOptions, prof: PhaseProfiler | null, mallocCount: () => number | null = () => null,
): EmbedProfile {
  const hostT = {} as EncodeTimings;
  e.encodeIds(rows, { ...opts, timings: hostT });
  const host = hostSummary(hostT);
  if (prof === null) return { host, device: null, batches: hostT.batches.map((b) => ({ ...b, deviceMs: null, busyMs: null })) };
  const devT = {} as EncodeTimings;
  let n = 0;
  const m0 = mallocCount();
  prof.begin();
  prof.mark("batch 1");
  e.encodeIds(rows, {
    ...opts,
    timings: devT,
    onProgress: (p) => {
      opts.onProgress?.(p);
      n++;
      prof.mark(p.texts === p.totalTexts ? "tail" : `batch ${n + 1}`);
    },
  });
  const d = prof.end();
  const m1 = mallocCount();
  const busyMs = Object.values(d.ops).reduce((a, b) => a + b, 0);
  const forward = d.sections.filter((s) => s.label !== "tail");
  const tail = d.sections.find((s) => s.label === "tail");
  const batches = devT.batches.map((b, i) => ({ ...b, deviceMs: forward[i]?.ms ?? null, busyMs: forward[i]?.busyMs ?? null }));
  return {
    host,
    device: {
      totalMs: d.totalMs, busyMs, idleMs: Math.max(0, d.totalMs - busyMs), perForwardMs: devT.batches.length ? d.totalMs / devT.batches.length : 0,
      phases: d.phases, ops: d.ops, calls: d.calls, gemms: d.gemms, tailMs: tail?.ms ?? 0,
      mallocs: m0 === null || m1 === null ? null : m1 - m0, host: hostSummary(devT),
    },
    batches,
  };
}

const f1 = (x: number): string => x.toFixed(1);
const f2 = (x: number): string => x.toFixed(2);

function hostLine(h: HostSummary): string {
  return `wall ${f1(h.wallMs)} ms = plan ${f1(h.planMs)} + launch ${f1(h.launchMs)} (${h.batches} batches, ${f2(h.launchMsPerBatch)} each) + finish ${f1(h.finishMs)}` +
    ` + read wait ${f1(h.waitMs)} + read copy ${f1(h.copyMs)} (${h.reads} reads) + tail finish ${f1(h.tailFinishMs)} + other ${f1(h.otherMs)}`;
}

function median(xs: number[]): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** The console lines of a profile. */
export function formatEmbedProfile(p: EmbedProfile): string[] {
  const lines = [`profile, host (a pass without events): ${hostLine(p.host)}`];
  const d = p.device;
  if (d === null) return lines;
  lines.push(
    `profile, device (a pass with CUDA events around every op): ${f1(d.totalMs)} ms = ops ${f1(d.busyMs)} + idle ${f1(d.idleMs)}; ` +
      `${f2(d.perForwardMs)} ms per forward (${p.batches.length}); after the last launch ${f1(d.tailMs)} ms; cudaMalloc calls ${d.mallocs ?? "?"}`,
  );
  const ops = Object.entries(d.ops).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${f2(v)} ms ×${d.calls[k] ?? 0}`);
  lines.push(`  ops: ${ops.join(", ")}`);
  const phases = Object.entries(d.phases).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${f2(v)}`);
  lines.push(`  phases (ms): ${phases.join(", ")}`);
  if (d.gemms.length) lines.push(`  gemms: ${d.gemms.slice(0, 8).map((g) => `${g.shape} ×${g.calls} ${f2(g.ms)} ms ${g.tflops.toFixed(0)} TFLOP/s`).join("; ")}`);
  const dev = p.batches.map((b) => b.deviceMs ?? 0);
  const busy = p.batches.map((b) => b.busyMs ?? 0);
  lines.push(
    `  per forward (median): device ${f2(median(dev))} ms, its ops ${f2(median(busy))} ms, host launch ${f2(median(p.batches.map((b) => b.launchMs)))} ms, ` +
      `host finish ${f2(median(p.batches.map((b) => b.finishMs)))} ms`,
  );
  const slow = p.batches.map((b, i) => ({ b, i })).sort((x, y) => (y.b.deviceMs ?? 0) - (x.b.deviceMs ?? 0)).slice(0, 5);
  lines.push(
    `  slowest forwards (device / ops / launch ms, texts × width, tokens): ` +
      slow.map(({ b, i }) => `#${i + 1} ${f2(b.deviceMs ?? 0)} / ${f2(b.busyMs ?? 0)} / ${f2(b.launchMs)}, ${b.texts}×${b.seqLen}, ${b.tokens}`).join("; "),
  );
  lines.push(`  host of the evented pass: ${hostLine(d.host)}`);
  return lines;
}

/** `--key value` pairs after the positional arguments; a flag followed by another flag (or nothing) is boolean ("true"). */
export function parseBenchFlags(rest: readonly string[]): Map<string, string> {
  const flags = new Map<string, string>();
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]!;
    if (!a.startsWith("--")) throw new Error(`unexpected argument ${JSON.stringify(a)} (expected --flag [value])`);
    const next = rest[i + 1];
    if (next === undefined || next.startsWith("--")) flags.set(a.slice(2), "true");
    else {
      flags.set(a.slice(2), next);
      i++;
    }
  }
  return flags;
}
