import { existsSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import path from "node:path";

/** The raw entry points of build/mosaicbert_cuda.node (see native/addon.cc). Addresses are numbers. */
export interface NativeAddon {
  init(): { device: string; smCount: number; computeCapability: number; totalMemory: number; cublasLt: number; cudaRuntime: number; nccl: number };
  malloc(bytes: number): number;
  free(ptr: number): void;
  memGetInfo(): [number, number];
  memset0(ptr: number, bytes: number): void;
  h2d(dst: number, src: ArrayBufferView, bytes: number): void;
  d2h(dst: ArrayBufferView, src: number, bytes: number): void;
  /** Queues a copy of `bytes` at src (and of the device error flag) into a pinned slot; the slot, or −1 (over 4080 bytes, or every slot awaits readTake). */
  readLater(src: number, bytes: number): number;
  /** Waits for that slot's copy only, moves it into dst, frees the slot; the device error flag then (0: none). */
  readTake(dst: ArrayBufferView, slot: number, bytes: number): number;
  d2d(dst: number, src: number, bytes: number): void;
  /** Waits for the stream; returns the device error code (0 = none) and clears it. */
  sync(): number;
  eventRecord(i: number): void;
  eventElapsed(i: number, j: number): number;
  copy(dtDst: number, dst: number, dtSrc: number, src: number, n: number): void;
  fill(dt: number, p: number, n: number, v: number): void;
  add(dto: number, o: number, da: number, a: number, db: number, b: number, n: number): void;
  addInPlace(da: number, a: number, db: number, b: number, alpha: number, n: number): void;
  scaleInPlace(dt: number, x: number, s: number, n: number): void;
  gelu(dty: number, y: number, dtx: number, x: number, n: number): void;
  geluBackward(ddx: number, dx: number, ddy: number, dy: number, dtx: number, x: number, n: number): void;
  /** p = 0: no dropout; else the fused FFN dropout (key = seedKey(seed), offset mod 2³²). */
  geglu(dth: number, h: number, dtg: number, g: number, rows: number, inter: number, p: number, key: number, offset: number): void;
  gegluBackward(ddg: number, dg: number, ddh: number, dh: number, dtg: number, g: number, rows: number, inter: number, p: number, key: number, offset: number): void;
  tanh(dty: number, y: number, dtx: number, x: number, n: number): void;
  tanhBackward(ddx: number, dx: number, ddy: number, dy: number, dty: number, y: number, n: number): void;
  dropout(dty: number, y: number, dtx: number, x: number, n: number, p: number, key: number, offset: number): void;
  biasAct(dto: number, out: number, dtp: number, pre: number, dtb: number, bias: number, rows: number, cols: number, gelu: number, dts: number, save: number, acc: number): void;
  embedding(dto: number, out: number, ids: number, dtt: number, table: number, n: number, V: number, H: number): void;
  embeddingBackward(dtable: number, ids: number, dtd: number, dy: number, n: number, V: number, H: number, paddingIdx: number): void;
  gatherRows(dt: number, out: number, x: number, idx: number, T: number, N: number, H: number): void;
  scatterRows(dt: number, out: number, x: number, idx: number, T: number, N: number, H: number, add: number, dtx: number): void;
  sumRows(out: number, dt: number, x: number, N: number, M: number, acc: number): void;
  /** With res and p > 0: LN(dropout(x) + res), the dropout of `dropout` (key = seedKey(seed), offset mod 2³²). */
  layerNorm(
    dty: number, y: number, dtx: number, x: number, dtr: number, res: number, sum: number, dtw: number, w: number, dtb: number, b: number,
    mean: number, rstd: number, N: number, H: number, eps: number, p: number, key: number, offset: number,
  ): void;
  /** dxd (dx's dtype, or 0): dx through that dropout's mask. */
  layerNormBackward(
    ddx: number, dx: number, ddy: number, dy: number, dtx: number, x: number, dtw: number, w: number, mean: number, rstd: number, dw: number,
    db: number, N: number, H: number, dxd: number, p: number, key: number, offset: number,
  ): void;
  crossEntropy(loss: number, dtl: number, logits: number, targets: number, N: number, C: number, ignore: number, mean: number, dtg: number, grad: number, gradScale: number, scratch: number): void;
  mse(loss: number, dtp: number, pred: number, dtt: number, target: number, N: number, dtg: number, grad: number, gradScale: number): void;
  argmax(out: number, dt: number, x: number, N: number, C: number): void;
  adamw(table: Float64Array, lr: number, b1: number, b2: number, eps: number, decay: number, bc1: number, bc2: number, gradScale: number, gradScaleTensor: number): void;
  globalNorm(out: number, table: Float64Array, scratch: number): void;
  clipCoefficient(out: number, norm: number, maxNorm: number): void;
  attention(pack: Float64Array): void;
  attentionBackwardScratch(pack: Float64Array, dout: number): number;
  attentionBackward(pack: Float64Array, dout: number, dqkv: number, scratch: number): void;
  /** The cuBLASLt GEMM behind matmul: one pack of MATMUL slots (src/matmul-pack.ts). */
  matmul(pack: Float64Array): void;
  ncclUniqueId(): Uint8Array;
  ncclInit(nranks: number, rank: number, id: Uint8Array): void;
  ncclAllReduce(ptr: number, n: number, dt: number, average: number): void;
  /**
   * Like ncclAllReduce, on a side stream that starts once the backend's stream reaches this point.
   * Absent in addons built before overlap existed: then reductions stay on the main stream.
   */
  ncclAllReduceSide?(ptr: number, n: number, dt: number, average: number): void;
  /** The backend's stream waits for every ncclAllReduceSide launched so far. */
  ncclJoin?(): void;
  ncclDestroy(): void;
}

/** Where the addon is looked for: $MOSAICBERT_CUDA_ADDON, else build/ beside this package's src/ or dist/. */
export function addonPath(): string {
  const env = process.env.MOSAICBERT_CUDA_ADDON;
  if (env) return path.resolve(env);
  return path.join(packageDir(), "build", "mosaicbert_cuda.node");
}

/** This package's folder (the parent of src/ or dist/). */
const packageDir = (): string => path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");

/** How to build the addon, for the context this package runs in: an npm install or the monorepo checkout. */
export function buildHint(): string {
  const pkg = packageDir();
  const log = path.join(pkg, "build", "build.log");
  if (existsSync(path.join(pkg, "src", "index.ts"))) return "run `pnpm --filter @mosaicbert/kernels-cuda build:native` on a machine with CUDA";
  if (existsSync(log)) return `the install-time build failed (see ${log}); fix the cause, then run \`npm rebuild @mosaicbert/kernels-cuda\``;
  return "on a machine with the CUDA toolkit (nvcc, cuBLASLt, NCCL) run `npm rebuild @mosaicbert/kernels-cuda` " +
    "(if npm skipped the package's install script, allow it first: `npm install-scripts approve @mosaicbert/kernels-cuda`)";
}

/** Loads the addon or returns why it cannot be loaded. */
export function loadNative(): { addon: NativeAddon } | { reason: string } {
  const file = addonPath();
  if (!existsSync(file)) {
    return { reason: `addon not built (${file} is missing; ${buildHint()})` };
  }
  try {
    const req = createRequire(import.meta.url);
    return { addon: req(file) as NativeAddon };
  } catch (e) {
    return { reason: `cannot load ${file}: ${(e as Error).message.split("\n")[0]}` };
  }
}
