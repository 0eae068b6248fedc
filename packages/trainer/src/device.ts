import { defaultCpuBackend, FastCpuBackend, type Backend } from "@mosaicbert/tensor";
import type { CudaBackend } from "@mosaicbert/kernels-cuda";

/**
 * The one device resolver: every job (pretrain, glue, infer, bench, …) turns its `--device` (or a
 * recipe's `device:`) into a backend here. Forms: "auto" (CUDA when it loads, else the CPU), "cpu",
 * "cuda" (this process's GPU: the launcher gives each rank one through CUDA_VISIBLE_DEVICES) and
 * "cuda:N" (GPU N of the visible ones). Libraries below the trainer take a Backend and never resolve.
 */
export const DEVICE_FORMS = "auto, cpu, cuda or cuda:N";
export const DEVICE_PATTERN = /^(auto|cpu|cuda(:\d{1,4})?)$/;

export interface DeviceChoice {
  kind: "auto" | "cpu" | "cuda";
  /** The N of cuda:N; null for plain "cuda" (this process's GPU). */
  index: number | null;
}

export interface Device {
  backend: Backend;
  kind: "cpu" | "cuda";
  /** Human description, e.g. "cpu" or "cuda (rank-local 0) NVIDIA H200". */
  name: string;
  /** Dense peak FLOP/s of the compute dtype, for MFU; null when unknown. */
  peakFlops: number | null;
  /** The CUDA backend itself (device timing, memory stats), or null on the CPU. */
  cuda: CudaBackend | null;
}

/**
 * The compute dtype a `--precision` asks for on `backend`: "auto" is bf16 on a GPU (the reference's amp_bf16:
 * bf16 products, float32 master weights) and f32 on the CPU, where bf16 only emulates the rounding.
 */
export function resolvePrecision(precision: "auto" | "f32" | "bf16", backend: Backend): "f32" | "bf16" {
  if (precision !== "auto") return precision;
  return backend.name === "cuda" ? "bf16" : "f32";
}

/** Parses a device string; throws naming `what` and the accepted forms. */
export function parseDevice(text: string, what = "--device"): DeviceChoice {
  const t = String(text).trim();
  if (!DEVICE_PATTERN.test(t)) throw new Error(`${what}: expected ${DEVICE_FORMS}, got ${JSON.stringify(text)}`);
  const [kind, index] = t.split(":");
  return { kind: kind as DeviceChoice["kind"], index: index === undefined ? null : Number(index) };
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

/** What the resolver needs of @mosaicbert/kernels-cuda (injectable for tests). */
export type CudaLoader = () => Promise<{ cudaAvailable(): { backend?: CudaBackend; reason?: string } }>;

const importCuda: CudaLoader = () => import("@mosaicbert/kernels-cuda");

/** The cuda:N this process bound to (CUDA picks its devices once per process); undefined before any. */
let boundIndex: number | null | undefined;

/** Makes GPU `index` of the visible ones this process's device 0, before CUDA starts. */
function bindGpu(index: number | null): void {
  if (boundIndex !== undefined) {
    if (index !== null && index !== (boundIndex ?? 0)) {
      throw new Error(`--device cuda:${index}: this process already runs on cuda:${boundIndex ?? 0} (one CUDA device per process)`);
    }
    return;
  }
  if (index !== null) {
    const visible = process.env.CUDA_VISIBLE_DEVICES?.split(",").map((s) => s.trim()).filter(Boolean);
    if (visible && index >= visible.length) {
      throw new Error(`--device cuda:${index}: only ${visible.length} GPU(s) visible (CUDA_VISIBLE_DEVICES=${process.env.CUDA_VISIBLE_DEVICES})`);
    }
    process.env.CUDA_VISIBLE_DEVICES = visible ? visible[index]! : String(index);
  }
  boundIndex = index;
}

/** Tries the CUDA backend (an optional native addon); every reason starts "CUDA backend unavailable: ". */
async function tryCuda(index: number | null, localRank: number, load: CudaLoader): Promise<{ device: Device } | { reason: string }> {
  let mod: Awaited<ReturnType<CudaLoader>>;
  try {
    mod = await load();
  } catch (e) {
    return { reason: `CUDA backend unavailable: @mosaicbert/kernels-cuda did not load: ${(e as Error).message}` };
  }
  bindGpu(index);
  const r = mod.cudaAvailable();
  if (!r.backend) return { reason: r.reason ?? "CUDA backend unavailable" };
  const gpu = String(r.backend.info?.device ?? "");
  const peak = envPeak() ?? GPU_PEAKS.find(([re]) => re.test(gpu))?.[1] ?? null;
  const where = index === null ? `cuda (rank-local ${localRank})` : `cuda:${index}`;
  return { device: { backend: r.backend as unknown as Backend, kind: "cuda", name: `${where}${gpu ? ` ${gpu}` : ""}`, peakFlops: peak, cuda: r.backend } };
}

export interface ResolveOptions {
  /** This process's rank on its node (for the device name). */
  localRank?: number;
  /** Where "auto" says that it fell back to the CPU, and why. */
  note?: (msg: string) => void;
  /** How to import the CUDA package (tests). */
  loadCuda?: CudaLoader;
}

/**
 * The compute device of a job: "cpu"; "cuda" / "cuda:N" (throws "CUDA backend unavailable: <why>"
 * where CUDA cannot run); "auto" (CUDA when it loads, else the CPU, saying why through `note`).
 */
export async function resolveDevice(want: string, o: ResolveOptions = {}): Promise<Device> {
  const choice = parseDevice(want);
  const onCpu = (): Device => {
    // The fast backend (WebAssembly SIMD on every core), or the reference with MOSAICBERT_CPU_BACKEND=reference.
    const backend = defaultCpuBackend();
    const how = backend instanceof FastCpuBackend ? `fast, ${backend.threads} thread(s)` : "reference";
    return { backend, kind: "cpu", name: `cpu (${how})`, peakFlops: envPeak(), cuda: null };
  };
  if (choice.kind === "cpu") return onCpu();
  const r = await tryCuda(choice.index, o.localRank ?? 0, o.loadCuda ?? importCuda);
  if ("device" in r) return r.device;
  if (choice.kind === "cuda") throw new Error(`${r.reason} (--device ${want})`);
  o.note?.(`device auto: CUDA unavailable (${r.reason}); running on the CPU`);
  return onCpu();
}
