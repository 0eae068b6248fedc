import { cpu, type Backend } from "@mosaicbert/tensor";

export interface Device {
  backend: Backend;
  kind: "cpu" | "cuda";
  /** Human description, e.g. "cpu" or "cuda:0 NVIDIA H200". */
  name: string;
  /** Dense peak FLOP/s of the compute dtype, for MFU; null when unknown. */
  peakFlops: number | null;
}

/** Dense bf16 tensor-core peaks (FLOP/s) by GPU name, for MFU. */
const GPU_PEAKS: Array<[RegExp, number]> = [
  [/H200|H100/i, 989e12],
  [/A100/i, 312e12],
  [/L40S/i, 362e12],
  [/A10G|A10\b/i, 125e12],
  [/L4\b/i, 121e12],
];

function envPeak(): number | null {
  const v = process.env.MOSAICBERT_PEAK_TFLOPS;
  const n = v ? Number(v) : NaN;
  return Number.isFinite(n) && n > 0 ? n * 1e12 : null;
}

/** Tries the CUDA backend of @mosaicbert/kernels-cuda (an optional native addon); the reason it is unavailable otherwise. */
async function tryCuda(localRank: number): Promise<{ device: Device } | { reason: string }> {
  let mod: typeof import("@mosaicbert/kernels-cuda");
  try {
    mod = await import("@mosaicbert/kernels-cuda");
  } catch (e) {
    return { reason: `@mosaicbert/kernels-cuda did not load: ${(e as Error).message}` };
  }
  // One backend per process on its current device: the launcher gives each rank one GPU through
  // CUDA_VISIBLE_DEVICES, so device 0 of every process is its own GPU.
  const r = mod.cudaAvailable();
  if (!r.backend) return { reason: r.reason };
  const backend = r.backend as unknown as Backend;
  const gpu = String((r.backend as { info?: { device?: unknown } }).info?.device ?? "");
  const peak = envPeak() ?? GPU_PEAKS.find(([re]) => re.test(gpu))?.[1] ?? null;
  return { device: { backend, kind: "cuda", name: `cuda (rank-local ${localRank})${gpu ? ` ${gpu}` : ""}`, peakFlops: peak } };
}

/**
 * Picks the compute device: "cpu"; "cuda" (fails with the reason when CUDA is unavailable); or
 * "auto" (CUDA when it loads, else the CPU, saying why through `note`).
 */
export async function resolveDevice(want: "auto" | "cpu" | "cuda", localRank = 0, note: (msg: string) => void = () => {}): Promise<Device> {
  if (want === "cpu") return { backend: cpu, kind: "cpu", name: "cpu", peakFlops: envPeak() };
  const r = await tryCuda(localRank);
  if ("device" in r) return r.device;
  if (want === "cuda") throw new Error(`--device cuda: CUDA is not available: ${r.reason}`);
  note(`device auto: CUDA unavailable (${r.reason}); training on the CPU`);
  return { backend: cpu, kind: "cpu", name: "cpu", peakFlops: envPeak() };
}
