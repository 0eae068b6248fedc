import { type Backend, cpu, fastCpu } from "@mosaicbert/tensor";
import { describe, expect, it } from "vitest";
import { parseDevice, resolveDevice, resolvePrecision } from "./device.js";

const missing = async (): Promise<never> => { throw new Error("Cannot find module '@mosaicbert/kernels-cuda'"); };
const unbuilt = async () => ({ cudaAvailable: () => ({ reason: "CUDA backend unavailable: addon not built (x.node is missing)" }) });

describe("parseDevice", () => {
  it("reads auto, cpu, cuda and cuda:N", () => {
    expect(parseDevice("auto")).toEqual({ kind: "auto", index: null });
    expect(parseDevice("cpu")).toEqual({ kind: "cpu", index: null });
    expect(parseDevice("cuda")).toEqual({ kind: "cuda", index: null });
    expect(parseDevice("cuda:3")).toEqual({ kind: "cuda", index: 3 });
  });

  it("rejects anything else, naming the option and the accepted forms", () => {
    for (const bad of ["tpu", "cpu:1", "cuda:", "cuda:-1", "cuda:x", "CUDA", "auto:0", ""]) {
      expect(() => parseDevice(bad, "--device")).toThrow(`--device: expected auto, cpu, cuda or cuda:N, got ${JSON.stringify(bad)}`);
    }
  });
});

describe("resolveDevice", () => {
  it("cpu is the fast CPU backend (the reference with MOSAICBERT_CPU_BACKEND=reference) and never loads CUDA", async () => {
    const d = await resolveDevice("cpu", { loadCuda: missing });
    expect(d.backend).toBe(fastCpu());
    expect([d.kind, d.name, d.cuda]).toEqual(["cpu", `cpu (fast, ${fastCpu().threads} thread(s))`, null]);
    const before = process.env.MOSAICBERT_CPU_BACKEND;
    try {
      process.env.MOSAICBERT_CPU_BACKEND = "reference";
      const r = await resolveDevice("cpu", { loadCuda: missing });
      expect([r.backend, r.name]).toEqual([cpu, "cpu (reference)"]);
      process.env.MOSAICBERT_CPU_BACKEND = "blas";
      await expect(resolveDevice("cpu", { loadCuda: missing })).rejects.toThrow(/MOSAICBERT_CPU_BACKEND: expected 'fast' or 'reference', got 'blas'/);
    } finally {
      if (before === undefined) delete process.env.MOSAICBERT_CPU_BACKEND;
      else process.env.MOSAICBERT_CPU_BACKEND = before;
    }
  });

  it("auto falls back to the CPU and says why", async () => {
    const notes: string[] = [];
    const d = await resolveDevice("auto", { loadCuda: unbuilt, note: (m) => notes.push(m) });
    expect(d.kind).toBe("cpu");
    expect(notes).toEqual(["device auto: CUDA unavailable (CUDA backend unavailable: addon not built (x.node is missing)); running on the CPU"]);
    await resolveDevice("auto", { loadCuda: missing, note: (m) => notes.push(m) });
    expect(notes[1]).toMatch(/CUDA backend unavailable: @mosaicbert\/kernels-cuda did not load: Cannot find module/);
  });

  it("cuda and cuda:N fail with the reason where CUDA cannot run", async () => {
    await expect(resolveDevice("cuda", { loadCuda: unbuilt })).rejects.toThrow(/^CUDA backend unavailable: addon not built \(x\.node is missing\) \(--device cuda\)$/);
    await expect(resolveDevice("cuda", { loadCuda: missing })).rejects.toThrow(/^CUDA backend unavailable: @mosaicbert\/kernels-cuda did not load/);
    await expect(resolveDevice("gpu")).rejects.toThrow(/--device: expected auto, cpu, cuda or cuda:N, got "gpu"/);
  });

  it("a CUDA backend comes back as the device, named with its GPU", async () => {
    const fake = { info: { device: "NVIDIA H200" } };
    const d = await resolveDevice("cuda", { loadCuda: async () => ({ cudaAvailable: () => ({ backend: fake as never }) }), localRank: 1 });
    expect(d.kind).toBe("cuda");
    expect(d.cuda).toBe(fake);
    expect(d.backend).toBe(fake);
    expect(d.name).toBe("cuda (rank-local 1) NVIDIA H200");
    expect(d.peakFlops === 989e12 || process.env.MOSAICBERT_PEAK_TFLOPS !== undefined).toBe(true);
  });
});

describe("resolvePrecision", () => {
  it("auto is bf16 on a GPU (the reference's amp_bf16) and f32 on the CPU; an explicit choice is kept", () => {
    const gpu = { name: "cuda" } as unknown as Backend;
    expect(resolvePrecision("auto", cpu)).toBe("f32");
    expect(resolvePrecision("auto", gpu)).toBe("bf16");
    expect(resolvePrecision("f32", gpu)).toBe("f32");
    expect(resolvePrecision("bf16", cpu)).toBe("bf16");
  });
});
