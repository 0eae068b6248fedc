import {
  DTYPES, FLOAT_DTYPES, INDEX_DTYPES, MASK_DTYPES, OpError, Tensor, asMatrix, cpu, decodeBf16, expectDtype, expectNumber,
  expectRank, expectSameShape, expectShape, expectShapeArg, expectSize, expectTensor, f16BitsToF32, fmtShape, isFloat, itemsize,
  seedKey,
} from "@mosaicbert/tensor";
import type {
  AddLayerNormResult, AdamWOptions, AdamWParam, AttentionArgs, AttentionResult, Backend, CrossEntropyOptions, DType,
  DropoutOptions, HostArray, HostData, LayerNormResult, LossResult, MatmulOptions, MemoryStats, NormGrads,
} from "@mosaicbert/tensor";
import { CachingAllocator, type Block } from "./allocator.js";
import type { NativeAddon } from "./native.js";

/** dtype codes shared with native/kernels.h. */
export const DT: Record<DType, number> = { f32: 0, bf16: 1, f16: 2, i32: 3, i64: 4, u8: 5, bool: 6 };

/** Device-side error codes (kernels.h) → the op and argument they concern. */
const DEVICE_ERRORS: Record<number, [string, string, string]> = {
  1: ["embedding", "ids", "an id is out of range [0, V) (found on the device)"],
  2: ["embeddingBackward", "ids", "an id is out of range [0, V) (found on the device)"],
  3: ["gatherRows", "indices", "an index is out of range [0, N) (found on the device)"],
  4: ["scatterRows", "indices", "an index is out of range [0, numRows) (found on the device)"],
  5: ["scatterAddRows", "indices", "an index is out of range [0, N) (found on the device)"],
  6: ["crossEntropy", "targets", "a target is out of range [0, C) and not ignoreIndex (found on the device)"],
  7: ["attention", "maxSeqlen", "a sequence is longer than maxSeqlen (found on the device)"],
  8: ["attention", "cuSeqlens", "expected [0, …, T] non-decreasing cumulative lengths (found on the device)"],
};

function floatArg(be: Backend, op: string, arg: string, t: unknown): Tensor {
  const x = expectTensor(op, arg, t, be);
  expectDtype(op, arg, x, FLOAT_DTYPES);
  return x;
}
function indexArg(be: Backend, op: string, arg: string, t: unknown): Tensor {
  const x = expectTensor(op, arg, t, be);
  expectDtype(op, arg, x, INDEX_DTYPES);
  return x;
}
function outArg(be: Backend, op: string, t: Tensor | null | undefined, shape: readonly number[]): Tensor | null {
  if (t === null || t === undefined) return null;
  const x = floatArg(be, op, "out", t);
  if (x.shape.length !== shape.length || x.shape.some((d, i) => d !== shape[i])) {
    throw new OpError(op, "out", `expected shape [${shape.join(", ")}], got [${x.shape.join(", ")}]`);
  }
  return x;
}
function dropoutArgs(op: string, opts: DropoutOptions | null | undefined): { p: number; seed: number; offset: number } {
  if (opts === null || opts === undefined || typeof opts !== "object") throw new OpError(op, "opts", "expected { p, seed, offset? }");
  const { p, seed } = opts;
  const offset = opts.offset ?? 0;
  if (typeof p !== "number" || !(p >= 0 && p < 1)) throw new OpError(op, "p", `expected a drop probability in [0, 1), got ${String(p)}`);
  if (typeof seed !== "number" || !Number.isInteger(seed)) throw new OpError(op, "seed", `expected an integer seed, got ${String(seed)}`);
  if (typeof offset !== "number" || !Number.isInteger(offset) || offset < 0) {
    throw new OpError(op, "offset", `expected a non-negative integer counter offset, got ${String(offset)}`);
  }
  return { p, seed: seed >>> 0, offset };
}

/** Storage of a CUDA tensor: one block of the caching allocator. */
interface CudaStorage {
  block: Block;
}

/**
 * The op contract on an NVIDIA GPU. Device memory belongs to the backend (a caching allocator);
 * every op is queued asynchronously on one CUDA stream, and only reads (`read`, `item`,
 * `readBytes`) and `synchronize` wait. Index errors that only the device can see (an id out of
 * range) are reported by the next wait, as an OpError naming the op.
 */
export class CudaBackend implements Backend {
  readonly name = "cuda";
  readonly allocator: CachingAllocator;
  readonly info: ReturnType<NativeAddon["init"]>;
  private readonly scratch: Tensor;
  private readonly slopeCache = new Map<string, Tensor>();
  /** When true, every new tensor starts as NaN / −1 (conformance tests). */
  poison = false;

  constructor(readonly native: NativeAddon) {
    this.info = native.init();
    this.allocator = new CachingAllocator(native, () => this.synchronize());
    this.scratch = this.empty([64], "f32");
  }

  /** Device address of t's first element. */
  ptr(t: Tensor): number {
    return (t.storage as CudaStorage).block.ptr + t.offset * itemsize(t.dtype);
  }
  private p(t: Tensor | null | undefined): number {
    return t === null || t === undefined ? 0 : this.ptr(t);
  }

  // ---- memory ----------------------------------------------------------------------------------

  empty(shape: readonly number[], dtype: DType): Tensor {
    expectShapeArg("empty", "shape", shape);
    if (!DTYPES.includes(dtype)) throw new OpError("empty", "dtype", `expected one of ${DTYPES.join(", ")}, got ${String(dtype)}`);
    const size = shape.reduce((a, b) => a * b, 1);
    const storage: CudaStorage = { block: this.allocator.alloc(size * itemsize(dtype)) };
    const t = new Tensor(this, [...shape], dtype, storage);
    // Testing aid: fresh storage full of NaN (−1 for integers) shows any element an op fails to write.
    if (this.poison && size > 0) this.native.fill(DT[dtype], this.ptr(t), size, isFloat(dtype) ? NaN : -1);
    return t;
  }

  zeros(shape: readonly number[], dtype: DType): Tensor {
    const t = this.empty(shape, dtype);
    if (t.nbytes > 0) this.native.memset0(this.ptr(t), t.nbytes);
    return t;
  }

  fromArray(data: HostData, shape: readonly number[], dtype: DType): Tensor {
    // The CPU backend converts and validates the host data exactly; its raw bytes are uploaded.
    const h = cpu.fromArray(data, shape, dtype);
    const t = this.empty(shape, dtype);
    this.upload(t, cpu.readBytes(h));
    return t;
  }

  write(t: Tensor, data: HostData): void {
    expectTensor("write", "t", t, this);
    const h = cpu.empty(t.shape, t.dtype);
    cpu.write(h, data);
    this.upload(t, cpu.readBytes(h));
  }

  private upload(t: Tensor, bytes: Uint8Array): void {
    if (bytes.byteLength > 0) this.native.h2d(this.ptr(t), bytes, bytes.byteLength);
  }

  read(t: Tensor): HostArray {
    const bytes = this.readBytes(t);
    const buf = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
    switch (t.dtype) {
      case "f32": return new Float32Array(buf);
      case "bf16": return decodeBf16(new Uint16Array(buf));
      case "f16": {
        const u = new Uint16Array(buf);
        const f = new Float32Array(u.length);
        for (let i = 0; i < u.length; i++) f[i] = f16BitsToF32(u[i]!);
        return f;
      }
      case "i32": return new Int32Array(buf);
      case "i64": return new BigInt64Array(buf);
      default: return new Uint8Array(buf);
    }
  }

  readBytes(t: Tensor): Uint8Array {
    expectTensor("readBytes", "t", t, this);
    const out = new Uint8Array(t.nbytes);
    this.synchronize();
    if (out.byteLength > 0) this.native.d2h(out, this.ptr(t), out.byteLength);
    return out;
  }

  free(t: Tensor): void {
    const s = t.storage as CudaStorage;
    this.allocator.release(s.block);
  }

  copy(src: Tensor, dst: Tensor): void {
    expectTensor("copy", "src", src, this);
    expectTensor("copy", "dst", dst, this);
    if (src.size !== dst.size) throw new OpError("copy", "dst", `expected ${src.size} elements like src ${fmtShape(src.shape)}, got ${dst.size} in ${fmtShape(dst.shape)}`);
    this.native.copy(DT[dst.dtype], this.ptr(dst), DT[src.dtype], this.ptr(src), src.size);
  }

  cast(x: Tensor, dtype: DType): Tensor {
    expectTensor("cast", "x", x, this);
    if (!DTYPES.includes(dtype)) throw new OpError("cast", "dtype", `expected one of ${DTYPES.join(", ")}, got ${String(dtype)}`);
    const y = this.empty(x.shape, dtype);
    this.copy(x, y);
    return y;
  }

  fill(t: Tensor, value: number): void {
    expectTensor("fill", "t", t, this);
    // Validate/convert the value as the CPU backend does (integers must be integers in range).
    const v = cpu.fromArray([value], [1], t.dtype);
    const host = cpu.read(v);
    this.native.fill(DT[t.dtype], this.ptr(t), t.size, Number(host[0]));
  }

  synchronize(): void {
    const code = this.native.sync();
    if (code !== 0) {
      const e = DEVICE_ERRORS[code];
      if (e) throw new OpError(e[0], e[1], e[2]);
      throw new Error(`CUDA backend: unknown device error code ${code}`);
    }
  }

  memoryStats(): MemoryStats {
    return { allocatedBytes: this.allocator.allocatedBytes, peakBytes: this.allocator.peakBytes, reservedBytes: this.allocator.reservedBytes };
  }

  /** Restarts peak tracking at the current allocation. */
  resetPeak(): void {
    this.allocator.peakBytes = this.allocator.allocatedBytes;
  }

  // ---- embeddings ------------------------------------------------------------------------------

  embedding(ids: Tensor, table: Tensor, opts: { dtype?: DType } = {}): Tensor {
    const op = "embedding";
    indexArg(this, op, "ids", ids);
    floatArg(this, op, "table", table);
    expectRank(op, "table", table, 2);
    const [V, H] = table.shape as [number, number];
    const dtype = opts.dtype ?? table.dtype;
    if (!isFloat(dtype)) throw new OpError(op, "dtype", `expected f32, bf16 or f16, got ${String(dtype)}`);
    const y = this.empty([...ids.shape, H], dtype);
    this.native.embedding(DT[dtype], this.ptr(y), this.ptr(ids), DT[table.dtype], this.ptr(table), ids.size, V, H);
    return y;
  }

  embeddingBackward(ids: Tensor, dy: Tensor, dtable: Tensor, opts: { paddingIdx?: number | null } = {}): void {
    const op = "embeddingBackward";
    indexArg(this, op, "ids", ids);
    floatArg(this, op, "dy", dy);
    floatArg(this, op, "dtable", dtable);
    expectDtype(op, "dtable", dtable, ["f32"]);
    expectRank(op, "dtable", dtable, 2);
    const [V, H] = dtable.shape as [number, number];
    expectSize(op, "dy", dy, ids.size * H, `ids ${fmtShape(ids.shape)} × ${H}`);
    const pad = opts.paddingIdx ?? null;
    if (pad !== null && (typeof pad !== "number" || !Number.isInteger(pad))) throw new OpError(op, "paddingIdx", `expected an integer or null, got ${String(pad)}`);
    this.native.embeddingBackward(this.ptr(dtable), this.ptr(ids), DT[dy.dtype], this.ptr(dy), ids.size, V, H, pad === null ? -1 : pad);
  }

  // ---- dense -----------------------------------------------------------------------------------

  matmul(a: Tensor, b: Tensor, opts: MatmulOptions = {}): Tensor {
    const op = "matmul";
    floatArg(this, op, "a", a);
    floatArg(this, op, "b", b);
    const transA = opts.transA === true;
    const transB = opts.transB === true;
    let M: number, K: number, lead: readonly number[];
    if (transA) {
      expectRank(op, "a", a, 2);
      K = a.shape[0]!;
      M = a.shape[1]!;
      lead = [M];
    } else {
      [M, K] = asMatrix(op, "a", a);
      lead = a.shape.slice(0, -1);
    }
    expectRank(op, "b", b, 2);
    const Kb = transB ? b.shape[1]! : b.shape[0]!;
    const N = transB ? b.shape[0]! : b.shape[1]!;
    if (Kb !== K) {
      const want = transB ? `[N, ${K}] (transB)` : `[${K}, N]`;
      throw new OpError(op, "b", `expected shape ${want} to match the inner dimension ${K} of a ${fmtShape(a.shape)}, got ${fmtShape(b.shape)}`);
    }
    const outShape = [...lead, N];
    const alpha = opts.alpha ?? 1;
    expectNumber(op, "alpha", alpha, () => true, "a finite number");
    const activation = opts.activation ?? "none";
    if (activation !== "none" && activation !== "gelu") throw new OpError(op, "activation", `expected "none" or "gelu", got ${String(activation)}`);
    let bias: Tensor | null = null;
    if (opts.bias !== null && opts.bias !== undefined) {
      bias = floatArg(this, op, "bias", opts.bias);
      expectShape(op, "bias", bias, [N]);
    }
    const pre = outArg(this, op, opts.preActivation, outShape);
    const out = outArg(this, op, opts.out, outShape);
    const accumulate = opts.accumulate === true;
    if (accumulate && out === null) throw new OpError(op, "accumulate", "accumulate requires an `out` tensor");
    const dtype = out?.dtype ?? opts.dtype ?? a.dtype;
    if (!isFloat(dtype)) throw new OpError(op, "dtype", `expected ${FLOAT_DTYPES.join(" or ")}, got ${String(dtype)}`);

    // cuBLASLt wants one operand type: bring a mixed pair to the lower-precision one.
    const temps: Tensor[] = [];
    let A = a, B = b;
    if (a.dtype !== b.dtype) {
      if (a.dtype === "f32") { A = this.cast(a, b.dtype); temps.push(A); } else { B = this.cast(b, a.dtype); temps.push(B); }
    }
    const y = out ?? this.empty(outShape, dtype);
    // The product may not be written over its own operands: compute aside when out shares storage.
    const aliased = out !== null && (out.storage === a.storage || out.storage === b.storage);
    if (activation === "none" && pre === null && !aliased) {
      this.gemm(A, B, y, bias, M, N, K, transA, transB, alpha, accumulate);
    } else {
      // Exact-erf GELU and "accumulate after the activation" are outside cuBLASLt's epilogues:
      // the product + bias goes to an f32 buffer, then one kernel applies the rest.
      const tmp = this.empty([M, N], "f32");
      temps.push(tmp);
      this.gemm(A, B, tmp, bias, M, N, K, transA, transB, alpha, false);
      this.native.biasAct(DT[y.dtype], this.ptr(y), DT.f32, this.ptr(tmp), 0, 0, M, N, activation === "gelu" ? 1 : 0,
        pre ? DT[pre.dtype] : 0, this.p(pre), accumulate ? 1 : 0);
    }
    for (const t of temps) t.dispose();
    return y;
  }

  private readonly gemmPack = new Float64Array(15);
  private gemm(A: Tensor, B: Tensor, D: Tensor, bias: Tensor | null, M: number, N: number, K: number, tA: boolean, tB: boolean, alpha: number, acc: boolean): void {
    const g = this.gemmPack;
    g[0] = DT[A.dtype]; g[1] = DT[B.dtype]; g[2] = DT[D.dtype]; g[3] = bias ? DT[bias.dtype] : 0;
    g[4] = this.ptr(A); g[5] = this.ptr(B); g[6] = this.ptr(D); g[7] = this.p(bias);
    g[8] = M; g[9] = N; g[10] = K; g[11] = tA ? 1 : 0; g[12] = tB ? 1 : 0; g[13] = alpha; g[14] = acc ? 1 : 0;
    this.native.gemm(g);
  }

  sumRows(x: Tensor, opts: { out?: Tensor | null; accumulate?: boolean } = {}): Tensor {
    const op = "sumRows";
    floatArg(this, op, "x", x);
    const [n, m] = asMatrix(op, "x", x);
    const out = outArg(this, op, opts.out, [m]);
    if (opts.accumulate === true && out === null) throw new OpError(op, "accumulate", "accumulate requires an `out` tensor");
    if (out !== null && out.dtype !== "f32") throw new OpError(op, "out", `expected dtype f32, got ${out.dtype}`);
    const y = out ?? this.empty([m], "f32");
    this.native.sumRows(this.ptr(y), DT[x.dtype], this.ptr(x), n, m, opts.accumulate === true ? 1 : 0);
    return y;
  }

  // ---- elementwise -----------------------------------------------------------------------------

  add(a: Tensor, b: Tensor, opts?: { out?: Tensor | null }): Tensor {
    floatArg(this, "add", "a", a);
    floatArg(this, "add", "b", b);
    expectSameShape("add", "b", b, a, "a");
    const out = outArg(this, "add", opts?.out, a.shape) ?? this.empty(a.shape, a.dtype);
    this.native.add(DT[out.dtype], this.ptr(out), DT[a.dtype], this.ptr(a), DT[b.dtype], this.ptr(b), a.size);
    return out;
  }

  addInPlace(a: Tensor, b: Tensor, alpha = 1): void {
    floatArg(this, "addInPlace", "a", a);
    floatArg(this, "addInPlace", "b", b);
    expectSameShape("addInPlace", "b", b, a, "a");
    expectNumber("addInPlace", "alpha", alpha, () => true, "a finite number");
    this.native.axpy(DT[a.dtype], this.ptr(a), DT[b.dtype], this.ptr(b), alpha, a.size);
  }

  scaleInPlace(x: Tensor, s: number): void {
    floatArg(this, "scaleInPlace", "x", x);
    expectNumber("scaleInPlace", "s", s, () => true, "a finite number");
    this.native.scale(DT[x.dtype], this.ptr(x), s, x.size);
  }

  gelu(x: Tensor): Tensor {
    floatArg(this, "gelu", "x", x);
    const y = this.empty(x.shape, x.dtype);
    this.native.gelu(DT[y.dtype], this.ptr(y), DT[x.dtype], this.ptr(x), x.size);
    return y;
  }

  geluBackward(dy: Tensor, x: Tensor): Tensor {
    floatArg(this, "geluBackward", "dy", dy);
    floatArg(this, "geluBackward", "x", x);
    expectSameShape("geluBackward", "x", x, dy, "dy");
    const dx = this.empty(dy.shape, dy.dtype);
    this.native.geluBackward(DT[dx.dtype], this.ptr(dx), DT[dy.dtype], this.ptr(dy), DT[x.dtype], this.ptr(x), dy.size);
    return dx;
  }

  private gegluShape(op: string, g: Tensor): [number, number] {
    const [n, c] = asMatrix(op, "g", g);
    if (c % 2 !== 0) throw new OpError(op, "g", `expected an even last dimension [N, 2I], got [${g.shape.join(", ")}]`);
    return [n, c / 2];
  }

  geglu(g: Tensor): Tensor {
    floatArg(this, "geglu", "g", g);
    const [n, inner] = this.gegluShape("geglu", g);
    const h = this.empty([...g.shape.slice(0, -1), inner], g.dtype);
    this.native.geglu(DT[h.dtype], this.ptr(h), DT[g.dtype], this.ptr(g), n, inner);
    return h;
  }

  gegluBackward(dh: Tensor, g: Tensor): Tensor {
    floatArg(this, "gegluBackward", "dh", dh);
    floatArg(this, "gegluBackward", "g", g);
    const [n, inner] = this.gegluShape("gegluBackward", g);
    expectShape("gegluBackward", "dh", dh, [...g.shape.slice(0, -1), inner]);
    const dg = this.empty(g.shape, dh.dtype);
    this.native.gegluBackward(DT[dg.dtype], this.ptr(dg), DT[dh.dtype], this.ptr(dh), DT[g.dtype], this.ptr(g), n, inner);
    return dg;
  }

  tanh(x: Tensor): Tensor {
    floatArg(this, "tanh", "x", x);
    const y = this.empty(x.shape, x.dtype);
    this.native.tanh(DT[y.dtype], this.ptr(y), DT[x.dtype], this.ptr(x), x.size);
    return y;
  }

  tanhBackward(dy: Tensor, y: Tensor): Tensor {
    floatArg(this, "tanhBackward", "dy", dy);
    floatArg(this, "tanhBackward", "y", y);
    expectSameShape("tanhBackward", "y", y, dy, "dy");
    const dx = this.empty(dy.shape, dy.dtype);
    this.native.tanhBackward(DT[dx.dtype], this.ptr(dx), DT[dy.dtype], this.ptr(dy), DT[y.dtype], this.ptr(y), dy.size);
    return dx;
  }

  dropout(x: Tensor, opts: DropoutOptions): Tensor {
    return this.dropoutOp("dropout", x, opts);
  }

  dropoutBackward(dy: Tensor, opts: DropoutOptions): Tensor {
    return this.dropoutOp("dropoutBackward", dy, opts);
  }

  private dropoutOp(op: string, x: Tensor, opts: DropoutOptions): Tensor {
    floatArg(this, op, op === "dropout" ? "x" : "dy", x);
    const { p, seed, offset } = dropoutArgs(op, opts);
    const y = this.empty(x.shape, x.dtype);
    this.native.dropout(DT[y.dtype], this.ptr(y), DT[x.dtype], this.ptr(x), x.size, p, seedKey(seed), offset % 4294967296);
    return y;
  }

  // ---- normalisation ---------------------------------------------------------------------------

  private normArgs(op: string, x: Tensor, weight: Tensor, bias: Tensor | null, eps: number): [number, number] {
    floatArg(this, op, "x", x);
    const [n, h] = asMatrix(op, "x", x);
    floatArg(this, op, "weight", weight);
    expectShape(op, "weight", weight, [h]);
    if (bias !== null && bias !== undefined) {
      floatArg(this, op, "bias", bias);
      expectShape(op, "bias", bias, [h]);
    }
    expectNumber(op, "eps", eps, (v) => v >= 0, "a non-negative number");
    return [n, h];
  }

  layerNorm(x: Tensor, weight: Tensor, bias: Tensor, eps: number): LayerNormResult {
    const [n, h] = this.normArgs("layerNorm", x, weight, bias, eps);
    const y = this.empty(x.shape, x.dtype);
    const mean = this.empty([n], "f32");
    const rstd = this.empty([n], "f32");
    this.native.layerNorm(DT[y.dtype], this.ptr(y), DT[x.dtype], this.ptr(x), 0, 0, 0, DT[weight.dtype], this.ptr(weight),
      bias ? DT[bias.dtype] : 0, this.p(bias), this.ptr(mean), this.ptr(rstd), n, h, eps);
    return { y, mean, rstd };
  }

  addLayerNorm(x: Tensor, residual: Tensor, weight: Tensor, bias: Tensor, eps: number): AddLayerNormResult {
    const [n, h] = this.normArgs("addLayerNorm", x, weight, bias, eps);
    floatArg(this, "addLayerNorm", "residual", residual);
    expectSameShape("addLayerNorm", "residual", residual, x, "x");
    const y = this.empty(x.shape, x.dtype);
    const sum = this.empty(x.shape, x.dtype);
    const mean = this.empty([n], "f32");
    const rstd = this.empty([n], "f32");
    this.native.layerNorm(DT[y.dtype], this.ptr(y), DT[x.dtype], this.ptr(x), DT[residual.dtype], this.ptr(residual), this.ptr(sum),
      DT[weight.dtype], this.ptr(weight), bias ? DT[bias.dtype] : 0, this.p(bias), this.ptr(mean), this.ptr(rstd), n, h, eps);
    return { y, mean, rstd, sum };
  }

  layerNormBackward(dy: Tensor, x: Tensor, weight: Tensor, mean: Tensor, rstd: Tensor, grads: NormGrads): Tensor {
    const op = "layerNormBackward";
    floatArg(this, op, "dy", dy);
    floatArg(this, op, "x", x);
    expectSameShape(op, "x", x, dy, "dy");
    const [n, h] = asMatrix(op, "x", x);
    floatArg(this, op, "weight", weight);
    expectShape(op, "weight", weight, [h]);
    for (const [name, t] of [["mean", mean], ["rstd", rstd]] as const) {
      floatArg(this, op, name, t);
      expectDtype(op, name, t, ["f32"]);
      expectShape(op, name, t, [n]);
    }
    if (grads === null || typeof grads !== "object") throw new OpError(op, "grads", "expected { dweight, dbias }");
    for (const name of ["dweight", "dbias"] as const) {
      floatArg(this, op, `grads.${name}`, grads[name]);
      expectDtype(op, `grads.${name}`, grads[name], ["f32"]);
      expectShape(op, `grads.${name}`, grads[name], [h]);
    }
    const dx = this.empty(dy.shape, dy.dtype);
    this.native.layerNormBackward(DT[dx.dtype], this.ptr(dx), DT[dy.dtype], this.ptr(dy), DT[x.dtype], this.ptr(x), DT[weight.dtype],
      this.ptr(weight), this.ptr(mean), this.ptr(rstd), this.ptr(grads.dweight), this.ptr(grads.dbias), n, h);
    return dx;
  }

  // ---- unpadding -------------------------------------------------------------------------------

  gatherRows(x: Tensor, indices: Tensor): Tensor {
    const op = "gatherRows";
    floatArg(this, op, "x", x);
    indexArg(this, op, "indices", indices);
    expectRank(op, "indices", indices, 1);
    const [n, h] = asMatrix(op, "x", x);
    if (x.shape.length < 2) throw new OpError(op, "x", `expected [N, H], got ${fmtShape(x.shape)}`);
    const y = this.empty([indices.size, ...x.shape.slice(1)], x.dtype);
    this.native.gatherRows(DT[x.dtype], this.ptr(y), this.ptr(x), this.ptr(indices), indices.size, n, h);
    return y;
  }

  scatterRows(x: Tensor, indices: Tensor, numRows: number): Tensor {
    const op = "scatterRows";
    floatArg(this, op, "x", x);
    indexArg(this, op, "indices", indices);
    expectRank(op, "indices", indices, 1);
    expectNumber(op, "numRows", numRows, (v) => Number.isInteger(v) && v >= 0, "a non-negative integer");
    const [t, h] = asMatrix(op, "x", x);
    if (x.shape.length < 2) throw new OpError(op, "x", `expected [T, H], got ${fmtShape(x.shape)}`);
    if (indices.size !== t) throw new OpError(op, "indices", `expected ${t} indices (one per row of x ${fmtShape(x.shape)}), got ${indices.size}`);
    const y = this.zeros([numRows, ...x.shape.slice(1)], x.dtype);
    this.native.scatterRows(DT[x.dtype], this.ptr(y), this.ptr(x), this.ptr(indices), t, numRows, h, 0, DT[x.dtype]);
    return y;
  }

  scatterAddRows(x: Tensor, indices: Tensor, out: Tensor): void {
    const op = "scatterAddRows";
    floatArg(this, op, "x", x);
    indexArg(this, op, "indices", indices);
    floatArg(this, op, "out", out);
    expectRank(op, "indices", indices, 1);
    const [t, h] = asMatrix(op, "x", x);
    const [n, ho] = asMatrix(op, "out", out);
    if (ho !== h) throw new OpError(op, "out", `expected rows of ${h} elements like x ${fmtShape(x.shape)}, got ${fmtShape(out.shape)}`);
    if (indices.size !== t) throw new OpError(op, "indices", `expected ${t} indices (one per row of x ${fmtShape(x.shape)}), got ${indices.size}`);
    this.native.scatterRows(DT[out.dtype], this.ptr(out), this.ptr(x), this.ptr(indices), t, n, h, 1, DT[x.dtype]);
  }

  // ---- attention -------------------------------------------------------------------------------

  private slopesTensor(slopes: Float32Array | readonly number[] | null | undefined, nh: number, op: string): Tensor | null {
    if (slopes === null || slopes === undefined) return null;
    if (slopes.length !== nh) throw new OpError(op, "slopes", `expected ${nh} slopes (one per head), got ${slopes.length}`);
    let key = "";
    for (let h = 0; h < nh; h++) {
      const s = slopes[h]!;
      if (typeof s !== "number" || !Number.isFinite(s)) throw new OpError(op, "slopes", `expected finite numbers, got ${String(s)} at position ${h}`);
      key += `${s},`;
    }
    // Slopes are uploaded once per distinct list: an upload waits for the stream.
    let t = this.slopeCache.get(key);
    if (t === undefined) {
      t = this.fromArray(Array.from(slopes, Number), [nh], "f32");
      this.slopeCache.set(key, t);
    }
    return t;
  }

  private attnPack(op: string, qkv: Tensor, args: AttentionArgs): { pack: Float64Array; T: number; H: number; nh: number } {
    floatArg(this, op, "qkv", qkv);
    expectRank(op, "qkv", qkv, 2);
    if (args === null || typeof args !== "object") throw new OpError(op, "args", "expected { numHeads, cuSeqlens, maxSeqlen, ... }");
    const nh = expectNumber(op, "numHeads", args.numHeads, (v) => Number.isInteger(v) && v > 0, "a positive integer");
    const [T, C] = qkv.shape as [number, number];
    if (C % (3 * nh) !== 0) throw new OpError(op, "qkv", `expected shape [T, 3·numHeads·headDim] with numHeads ${nh}, got ${fmtShape(qkv.shape)}`);
    const H = C / 3;
    const dh = H / nh;
    if (dh > 128) throw new OpError(op, "qkv", `head dim ${dh} > 128 is not supported by the CUDA backend`);
    const maxSeqlen = expectNumber(op, "maxSeqlen", args.maxSeqlen, (v) => Number.isInteger(v) && v >= 0, "a non-negative integer");
    indexArg(this, op, "cuSeqlens", args.cuSeqlens);
    expectRank(op, "cuSeqlens", args.cuSeqlens, 1);
    if (args.cuSeqlens.size < 1) throw new OpError(op, "cuSeqlens", `expected [0, …, ${T}] (cumulative lengths ending at the ${T} rows of qkv), got []`);
    const slopes = this.slopesTensor(args.slopes, nh, op);
    let positions: Tensor | null = null;
    if (args.positions !== null && args.positions !== undefined) {
      positions = indexArg(this, op, "positions", args.positions);
      expectShape(op, "positions", positions, [T]);
    }
    let keyMask: Tensor | null = null;
    if (args.keyMask !== null && args.keyMask !== undefined) {
      keyMask = expectTensor(op, "keyMask", args.keyMask, this);
      expectDtype(op, "keyMask", keyMask, MASK_DTYPES);
      expectShape(op, "keyMask", keyMask, [T]);
    }
    const scale = args.scale ?? 1 / Math.sqrt(dh);
    expectNumber(op, "scale", scale, () => true, "a finite number");
    let dropP = 0, dropKey = 0, dropOffset = 0;
    if (args.dropout !== null && args.dropout !== undefined) {
      const d = dropoutArgs(op, args.dropout);
      if (d.p > 0) { dropP = d.p; dropKey = seedKey(d.seed); dropOffset = d.offset % 4294967296; }
    }
    const pack = new Float64Array(20);
    pack[0] = DT[qkv.dtype]; pack[1] = this.ptr(qkv); pack[4] = this.ptr(args.cuSeqlens); pack[5] = this.p(positions);
    pack[6] = keyMask ? DT[keyMask.dtype] : 0; pack[7] = this.p(keyMask); pack[8] = this.p(slopes);
    pack[9] = args.cuSeqlens.size - 1; pack[10] = T; pack[11] = nh; pack[12] = dh; pack[13] = maxSeqlen;
    pack[14] = scale; pack[15] = dropP; pack[16] = dropKey; pack[17] = dropOffset;
    return { pack, T, H, nh };
  }

  attention(qkv: Tensor, args: AttentionArgs): AttentionResult {
    const { pack, T, H, nh } = this.attnPack("attention", qkv, args);
    const out = this.empty([T, H], qkv.dtype);
    const lse = this.empty([T, nh], "f32");
    pack[2] = this.ptr(out); pack[3] = this.ptr(lse); pack[18] = DT[out.dtype];
    this.native.attention(pack);
    return { out, lse };
  }

  attentionBackward(dout: Tensor, qkv: Tensor, out: Tensor, lse: Tensor, args: AttentionArgs): Tensor {
    const op = "attentionBackward";
    const { pack, T, H, nh } = this.attnPack(op, qkv, args);
    floatArg(this, op, "dout", dout);
    expectShape(op, "dout", dout, [T, H]);
    floatArg(this, op, "out", out);
    expectShape(op, "out", out, [T, H]);
    floatArg(this, op, "lse", lse);
    expectDtype(op, "lse", lse, ["f32"]);
    expectShape(op, "lse", lse, [T, nh]);
    pack[2] = this.ptr(out); pack[3] = this.ptr(lse); pack[18] = DT[out.dtype]; pack[19] = DT[dout.dtype];
    const dqkv = this.empty([T, 3 * H], dout.dtype);
    const floats = this.native.attentionBackwardScratch(pack, this.ptr(dout));
    const scratch = floats > 0 ? this.empty([floats], "f32") : null;
    this.native.attentionBackward(pack, this.ptr(dout), this.ptr(dqkv), this.p(scratch));
    scratch?.dispose();
    return dqkv;
  }

  // ---- losses and metrics ----------------------------------------------------------------------

  crossEntropy(logits: Tensor, targets: Tensor, opts: CrossEntropyOptions = {}): LossResult {
    const op = "crossEntropy";
    floatArg(this, op, "logits", logits);
    indexArg(this, op, "targets", targets);
    const [n, c] = asMatrix(op, "logits", logits);
    if (logits.shape.length < 2) throw new OpError(op, "logits", `expected [N, C], got ${fmtShape(logits.shape)}`);
    expectSize(op, "targets", targets, n, `one target per row of logits ${fmtShape(logits.shape)}`);
    const ignore = opts.ignoreIndex ?? -100;
    expectNumber(op, "ignoreIndex", ignore, Number.isInteger, "an integer");
    const reduction = opts.reduction ?? "mean";
    if (reduction !== "mean" && reduction !== "sum") throw new OpError(op, "reduction", `expected "mean" or "sum", got ${String(reduction)}`);
    const gradScale = opts.gradScale ?? 1;
    expectNumber(op, "gradScale", gradScale, () => true, "a finite number");
    const loss = this.empty([1], "f32");
    const grad = opts.computeGrad !== true ? null : opts.inPlace === true ? logits : this.empty(logits.shape, logits.dtype);
    this.native.crossEntropy(this.ptr(loss), DT[logits.dtype], this.ptr(logits), this.ptr(targets), n, c, ignore,
      reduction === "mean" ? 1 : 0, grad ? DT[grad.dtype] : 0, this.p(grad), gradScale, this.ptr(this.scratch));
    return grad ? { loss, grad } : { loss };
  }

  mse(pred: Tensor, target: Tensor, opts: { computeGrad?: boolean; gradScale?: number } = {}): LossResult {
    const op = "mse";
    floatArg(this, op, "pred", pred);
    floatArg(this, op, "target", target);
    expectSize(op, "target", target, pred.size, `one target per prediction ${fmtShape(pred.shape)}`);
    const gradScale = opts.gradScale ?? 1;
    expectNumber(op, "gradScale", gradScale, () => true, "a finite number");
    const loss = this.empty([1], "f32");
    const grad = opts.computeGrad === true ? this.empty(pred.shape, pred.dtype) : null;
    this.native.mse(this.ptr(loss), DT[pred.dtype], this.ptr(pred), DT[target.dtype], this.ptr(target), pred.size,
      grad ? DT[grad.dtype] : 0, this.p(grad), gradScale);
    return grad ? { loss, grad } : { loss };
  }

  argmax(x: Tensor): Tensor {
    const op = "argmax";
    floatArg(this, op, "x", x);
    const [n, c] = asMatrix(op, "x", x);
    if (c === 0) throw new OpError(op, "x", `expected at least one column, got ${fmtShape(x.shape)}`);
    const y = this.empty(x.shape.length > 1 ? x.shape.slice(0, -1) : [1], "i32");
    this.native.argmax(this.ptr(y), DT[x.dtype], this.ptr(x), n, c);
    return y;
  }

  // ---- optimizer -------------------------------------------------------------------------------

  globalNorm(tensors: readonly Tensor[]): Tensor {
    const op = "globalNorm";
    if (!Array.isArray(tensors)) throw new OpError(op, "tensors", "expected an array of tensors");
    const table = new Float64Array(3 * tensors.length);
    (tensors as readonly Tensor[]).forEach((t: Tensor, i: number) => {
      floatArg(this, op, `tensors[${i}]`, t);
      table[3 * i] = this.ptr(t); table[3 * i + 1] = t.size; table[3 * i + 2] = DT[t.dtype];
    });
    const out = this.empty([1], "f32");
    this.native.globalNorm(this.ptr(out), table, this.ptr(this.scratch));
    return out;
  }

  clipCoefficient(norm: Tensor, maxNorm: number): Tensor {
    const op = "clipCoefficient";
    floatArg(this, op, "norm", norm);
    expectShape(op, "norm", norm, [1]);
    expectNumber(op, "maxNorm", maxNorm, () => true, "a finite number");
    if (norm.dtype !== "f32") throw new OpError(op, "norm", `expected dtype f32, got ${norm.dtype}`);
    const out = this.empty([1], "f32");
    this.native.clipCoefficient(this.ptr(out), this.ptr(norm), maxNorm);
    return out;
  }

  adamw(params: readonly AdamWParam[], opts: AdamWOptions): void {
    const op = "adamw";
    if (!Array.isArray(params)) throw new OpError(op, "params", "expected an array of { param, grad, m, v, lowp? }");
    if (opts === null || typeof opts !== "object") throw new OpError(op, "opts", "expected { lr, beta1, beta2, eps, decay, step }");
    const lr = expectNumber(op, "lr", opts.lr, (v) => v >= 0, "a non-negative number");
    const b1 = expectNumber(op, "beta1", opts.beta1, (v) => v >= 0 && v < 1, "a number in [0, 1)");
    const b2 = expectNumber(op, "beta2", opts.beta2, (v) => v >= 0 && v < 1, "a number in [0, 1)");
    const eps = expectNumber(op, "eps", opts.eps, (v) => v >= 0, "a non-negative number");
    const decay = expectNumber(op, "decay", opts.decay, (v) => v >= 0 && v <= 1, "a number in [0, 1]");
    const step = expectNumber(op, "step", opts.step, (v) => Number.isInteger(v) && v >= 1, "a 1-based integer step");
    const gradScale = expectNumber(op, "gradScale", opts.gradScale ?? 1, () => true, "a finite number");
    let gst = 0;
    if (opts.gradScaleTensor !== null && opts.gradScaleTensor !== undefined) {
      floatArg(this, op, "gradScaleTensor", opts.gradScaleTensor);
      expectShape(op, "gradScaleTensor", opts.gradScaleTensor, [1]);
      expectDtype(op, "gradScaleTensor", opts.gradScaleTensor, ["f32"]);
      gst = this.ptr(opts.gradScaleTensor);
    }
    const table = new Float64Array(7 * params.length);
    (params as readonly AdamWParam[]).forEach((e: AdamWParam, i: number) => {
      if (e === null || typeof e !== "object") throw new OpError(op, `params[${i}]`, "expected { param, grad, m, v, lowp? }");
      for (const name of ["param", "grad", "m", "v"] as const) {
        floatArg(this, op, `params[${i}].${name}`, e[name]);
        expectDtype(op, `params[${i}].${name}`, e[name], ["f32"]);
        if (name !== "param") expectSameShape(op, `params[${i}].${name}`, e[name], e.param, "param");
      }
      if (e.lowp !== null && e.lowp !== undefined) {
        floatArg(this, op, `params[${i}].lowp`, e.lowp);
        expectSameShape(op, `params[${i}].lowp`, e.lowp, e.param, "param");
      }
      const o = 7 * i;
      table[o] = this.ptr(e.param); table[o + 1] = this.ptr(e.grad); table[o + 2] = this.ptr(e.m); table[o + 3] = this.ptr(e.v);
      table[o + 4] = this.p(e.lowp); table[o + 5] = e.param.size; table[o + 6] = e.lowp ? DT[e.lowp.dtype] : 0;
    });
    this.native.adamw(table, lr, b1, b2, eps, decay, 1 - b1 ** step, 1 - b2 ** step, gradScale, gst);
  }
}
