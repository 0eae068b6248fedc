import { Embedder, type EncodeTimings, planBatches } from "@mosaicbert/inference";
import { PhaseProfiler } from "@mosaicbert/kernels-cuda";
import { timedStandInBackend } from "@mosaicbert/kernels-cuda/testing";
import { type EncoderModel, createModel, preset } from "@mosaicbert/layers";
import { cpu } from "@mosaicbert/tensor";
import { describe, expect, it } from "vitest";
import { formatEmbedProfile, hostSummary, parseBenchFlags, profileEmbed } from "./embed-profile.js";

const ids = { padId: 0, clsId: 101, sepId: 102, maskId: 103, textToIds: () => [], idToToken: () => undefined };

/** Mixed-length id rows ([CLS] … [SEP]) for the tiny preset's vocabulary. */
function rowsOf(lengths: number[]): Int32Array[] {
  return lengths.map((n, r) => Int32Array.from({ length: n }, (_, t) => (t === 0 ? 101 : t === n - 1 ? 102 : 110 + ((r * 7 + t) % 100))));
}
const LENGTHS = [30, 5, 17, 17, 3, 60, 8, 41, 12, 2, 25, 9];

/** A CudaBackend on a stand-in addon with known device times; its reads of pending values fall back to plain reads. */
const fakeCuda = (opMs: (fn: string) => number) => timedStandInBackend(opMs, { readLater: () => -1 });

describe("parseBenchFlags", () => {
  it("reads --key value pairs and boolean flags, wherever they stand", () => {
    expect([...parseBenchFlags(["--device", "cuda", "--profile", "--passes", "3"])]).toEqual([["device", "cuda"], ["profile", "true"], ["passes", "3"]]);
    expect([...parseBenchFlags(["--json", "out.json", "--profile"])]).toEqual([["json", "out.json"], ["profile", "true"]]);
    expect(parseBenchFlags([]).size).toBe(0);
    expect(() => parseBenchFlags(["cuda"])).toThrow(/unexpected argument "cuda"/);
  });
});

describe("hostSummary / formatEmbedProfile", () => {
  it("sums the batches and reads, and what is left of the wall clock is 'other'", () => {
    const t: EncodeTimings = {
      planMs: 2, tailFinishMs: 1, totalMs: 40,
      batches: [{ texts: 4, seqLen: 9, tokens: 30, launchMs: 3, finishMs: 0.5 }, { texts: 2, seqLen: 20, tokens: 33, launchMs: 5, finishMs: 1.5 }],
      reads: [{ texts: 6, waitMs: 20, copyMs: 4 }],
    };
    const h = hostSummary(t);
    expect(h).toEqual({ wallMs: 40, planMs: 2, launchMs: 8, launchMsPerBatch: 4, finishMs: 2, waitMs: 20, copyMs: 4, tailFinishMs: 1, otherMs: 3, batches: 2, reads: 1 });
    const lines = formatEmbedProfile({ host: h, device: null, batches: [] });
    expect(lines).toEqual([
      "profile, host (a pass without events): wall 40.0 ms = plan 2.0 + launch 8.0 (2 batches, 4.00 each) + finish 2.0 + read wait 20.0 + read copy 4.0 (1 reads) + tail finish 1.0 + other 3.0",
    ]);
  });
});

describe("profileEmbed", () => {
  it("CPU: the host pass only, one entry per forward pass of the plan", () => {
    const model = createModel(preset("tiny"), "encoder", cpu, { seed: 0 }) as EncoderModel;
    const e = new Embedder(model, ids);
    try {
      const rows = rowsOf(LENGTHS);
      const opts = { tokenBudget: 64, maxSeqLen: 64, deviceRows: 5, format: "matrix" as const };
      const p = profileEmbed(e, rows, opts, null);
      const plan = planBatches(LENGTHS, 64);
      expect(p.device).toBeNull();
      expect(p.batches.map((b) => b.texts)).toEqual(plan.map((b) => b.length));
      expect(p.batches.reduce((a, b) => a + b.tokens, 0)).toBe(LENGTHS.reduce((a, b) => a + b, 0));
      expect(p.batches.every((b) => b.deviceMs === null && b.launchMs >= 0)).toBe(true);
      expect(p.host.batches).toBe(plan.length);
      expect(p.host.reads).toBeGreaterThanOrEqual(Math.ceil(LENGTHS.length / 5));
      expect(p.host.wallMs).toBeGreaterThan(0);
    } finally {
      e.dispose();
    }
  });

  it("CUDA (stand-in addon): device time per op and per forward, idle time beside the ops, cudaMalloc calls of the pass", () => {
    // Each GEMM 1 ms, attention 0.5, the pooling's scatter 0.25, a device-to-host copy 2 (not an op: idle for the profile).
    const ms: Record<string, number> = { matmul: 1, attention: 0.5, scatterRows: 0.25, d2h: 2 };
    const cuda = fakeCuda((fn) => ms[fn] ?? 0);
    const prof = new PhaseProfiler(cuda);
    const model = createModel(preset("tiny"), "encoder", prof.backend, { computeDtype: "bf16", seed: 0 }) as EncoderModel;
    const e = new Embedder(model, ids);
    try {
      const rows = rowsOf(LENGTHS);
      const opts = { tokenBudget: 64, maxSeqLen: 64, deviceRows: 5, format: "matrix" as const };
      e.encodeIds(rows, opts); // warm: the allocator's cache holds every block of a pass
      const p = profileEmbed(e, rows, opts, prof, () => cuda.memoryStats().deviceAllocations ?? null);
      const plan = planBatches(LENGTHS, 64);
      const layers = preset("tiny").numHiddenLayers;
      const d = p.device!;
      // Per forward: QKV, output, GeGLU-in and -out GEMMs per layer; one attention per layer; one scatter (the pooling).
      expect(d.calls.matmul).toBe(4 * layers * plan.length);
      expect(d.calls.attention).toBe(layers * plan.length);
      expect(d.calls.scatterAddRows).toBe(plan.length);
      expect(d.calls.cast).toBeUndefined();
      const perForward = 4 * layers * 1 + layers * 0.5 + 0.25;
      expect(d.busyMs).toBeCloseTo(perForward * plan.length, 9);
      expect(p.batches.map((b) => b.busyMs)).toEqual(plan.map(() => perForward));
      // The reads' copies (2 ms each) are device time outside the ops; the last one after the last launch.
      const reads = d.host.reads;
      expect(d.idleMs).toBeCloseTo(2 * reads, 9);
      expect(d.tailMs).toBeCloseTo(2, 9);
      expect(p.batches.reduce((a, b) => a + b.deviceMs!, 0) + d.tailMs).toBeCloseTo(d.totalMs, 9);
      expect(d.perForwardMs).toBeCloseTo(d.totalMs / plan.length, 9);
      expect(d.mallocs).toBe(0);
      expect(d.gemms.length).toBeGreaterThan(0);
      const lines = formatEmbedProfile(p);
      expect(lines[1]).toMatch(new RegExp(`^profile, device .*: ${d.totalMs.toFixed(1)} ms = ops ${d.busyMs.toFixed(1)} \\+ idle ${d.idleMs.toFixed(1)}; .* per forward \\(${plan.length}\\); .*cudaMalloc calls 0$`));
      expect(lines.some((l) => l.startsWith("  ops: matmul "))).toBe(true);
    } finally {
      e.dispose();
    }
  });
});
