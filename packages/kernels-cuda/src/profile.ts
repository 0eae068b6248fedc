import type { Backend, MatmulOptions, Tensor } from "@mosaicbert/tensor";
import type { CudaBackend } from "./backend.js";

/** One GEMM shape of a profiled region: its calls, device time and achieved rate. */
export interface GemmShapeTime {
  /** `M×N×K` of op(a)·op(b), the transposes, and what the call fused (bias, activation, bias gradient, accumulate). */
  shape: string;
  calls: number;
  ms: number;
  /** 2·M·N·K per call over the device time, in TFLOP/s. */
  tflops: number;
}

/** What `PhaseProfiler.end()` reports of a profiled region (device milliseconds). */
export interface PhaseProfile {
  totalMs: number;
  /** Per phase (`phaseOf`), "host gaps" the device idle between ops. */
  phases: Record<string, number>;
  ops: Record<string, number>;
  calls: Record<string, number>;
  /** Per GEMM shape, slowest first. */
  gemms: GemmShapeTime[];
  sections: Array<{ label: string; ms: number; busyMs: number }>;
}

/** The shape label and FLOPs of a `matmul(a, b, options)` call (op(a) is M×K, op(b) is K×N). */
export function gemmShape(a: Tensor, b: Tensor, o: MatmulOptions = {}): { shape: string; flops: number } {
  // As the contract reads them: a transposed a is [K, M]; otherwise K is a's last dimension and M the rest.
  let M: number, K: number;
  if (o.transA) [K, M] = [a.shape[0] ?? 1, a.shape[1] ?? 1];
  else {
    K = a.shape[a.shape.length - 1] ?? 1;
    M = K === 0 ? 0 : a.size / K;
  }
  const N = o.transB ? (b.shape[0] ?? 1) : (b.shape[1] ?? 1);
  const t = `${o.transA ? "T" : "N"}${o.transB ? "T" : "N"}`;
  const extras = [o.bias ? "bias" : "", o.activation && o.activation !== "none" ? o.activation : "", o.biasGrad ? "bgrad" : "", o.accumulate ? "acc" : ""].filter(Boolean);
  return { shape: `${M}×${N}×${K} ${t}${extras.length ? ` ${extras.join("+")}` : ""}`, flops: 2 * M * N * K };
}

/** Op name → phase of the per-phase breakdown. */
export function phaseOf(op: string): string {
  if (op === "matmul") return "gemm";
  if (op.startsWith("attention")) return "attention";
  if (op === "adamw" || op === "globalNorm" || op === "clipCoefficient") return "optimizer";
  if (op.includes("ayerNorm")) return "layernorm";
  if (op === "crossEntropy") return "loss";
  if (op === "sumRows") return "column sums";
  if (op === "fromArray" || op === "write" || op === "read" || op === "readBytes" || op === "readLater" || op === "synchronize") return "transfers";
  return "elementwise";
}

const TIMED = new Set([
  "matmul", "sumRows", "add", "addInPlace", "scaleInPlace", "gelu", "geluBackward", "geglu", "gegluBackward", "tanh", "tanhBackward",
  "dropout", "dropoutBackward", "layerNorm", "addLayerNorm", "layerNormBackward", "gatherRows", "scatterRows", "scatterAddRows",
  "attention", "attentionBackward", "crossEntropy", "mse", "argmax", "globalNorm", "clipCoefficient", "adamw", "embedding",
  "embeddingBackward", "copy", "cast", "fill", "zeros", "fromArray", "write",
]);

/**
 * A pass-through view of a CudaBackend that, while `enabled`, brackets every op with CUDA events;
 * `report()` sums device time per phase. Models built on it run unchanged when disabled.
 */
export class PhaseProfiler {
  enabled = false;
  readonly backend: Backend;
  /** `sec`: the section (index into `sections`) the op was queued in, −1 before the first mark. */
  private marks: Array<{ op: string; a: number; b: number; sec: number; gemm?: { shape: string; flops: number } }> = [];
  private sections: Array<{ label: string; ev: number }> = [];
  private next = 0;

  constructor(private readonly cuda: CudaBackend) {
    const self = this;
    this.backend = new Proxy(cuda, {
      get(target, prop, receiver) {
        const v = Reflect.get(target, prop, receiver);
        if (typeof v !== "function") return v;
        const name = String(prop);
        if (!TIMED.has(name)) return v.bind(target);
        return (...args: unknown[]) => {
          if (!self.enabled) return v.apply(target, args);
          if (name !== "matmul") return self.timed(name, () => v.apply(target, args));
          const [x, w, o = {}] = args as [Tensor, Tensor, MatmulOptions | undefined];
          // A weight-gradient product's bias gradient timed as its own op: the column sums the fused call runs after
          // its GEMM (the same kernel; the backend's unfused path runs them first, as here), so that the GEMM table
          // shows the product's own rate and the sums their own time.
          if (o.biasGrad && o.transA) {
            const biasGrad = o.biasGrad;
            self.timed("sumRows", () => target.sumRows(x, { out: biasGrad, accumulate: o.accumulate ?? false }));
            const rest: MatmulOptions = { ...o, biasGrad: null };
            return self.timed("matmul", () => target.matmul(x, w, rest), gemmShape(x, w, rest));
          }
          return self.timed("matmul", () => v.apply(target, args), gemmShape(x, w, o));
        };
      },
    }) as unknown as Backend;
  }

  /** `run` bracketed by two events, kept as one mark of `op` (with its GEMM shape when it is a product). */
  private timed(op: string, run: () => unknown, gemm?: { shape: string; flops: number }): unknown {
    const a = this.next++;
    this.cuda.recordEvent(a);
    const r = run();
    const b = this.next++;
    this.cuda.recordEvent(b);
    this.marks.push({ op, a, b, sec: this.sections.length - 1, gemm });
    return r;
  }

  /** Starts a profiled region (records the region's start event). */
  begin(): void {
    this.marks = [];
    this.sections = [];
    this.next = 1;
    this.cuda.recordEvent(0);
    this.enabled = true;
  }

  /**
   * Starts a section of the region at this point of the stream (e.g. one forward pass): `end()` reports the
   * device milliseconds from each mark to the next, the last to the region's end (idle time included), and
   * the time of the ops queued in between (busy). Ignored outside a region.
   */
  mark(label: string): void {
    if (!this.enabled) return;
    const ev = this.next++;
    this.cuda.recordEvent(ev);
    this.sections.push({ label, ev });
  }

  /**
   * Ends the region; returns total device milliseconds, milliseconds per phase (gaps = idle device time between
   * ops) and per op, and the GEMMs by shape, slowest first (a matmul's time includes what it runs besides
   * cuBLASLt — a separate bias or activation pass — but not a bias gradient's column sums: those are the
   * `sumRows` op, phase "column sums"), the calls per op, and the
   * device time of each section (`mark`) with its ops' share.
   */
  end(): PhaseProfile {
    this.enabled = false;
    const last = this.next++;
    this.cuda.recordEvent(last);
    this.cuda.synchronize();
    const totalMs = this.cuda.elapsedMs(0, last);
    const phases: Record<string, number> = {};
    const ops: Record<string, number> = {};
    const calls: Record<string, number> = {};
    let busy = 0;
    const secBusy = new Float64Array(this.sections.length);
    const byShape = new Map<string, { calls: number; ms: number; flops: number }>();
    for (const m of this.marks) {
      const ms = this.cuda.elapsedMs(m.a, m.b);
      if (m.sec >= 0) secBusy[m.sec]! += ms;
      if (m.gemm) {
        const e = byShape.get(m.gemm.shape) ?? { calls: 0, ms: 0, flops: 0 };
        e.calls++;
        e.ms += ms;
        e.flops += m.gemm.flops;
        byShape.set(m.gemm.shape, e);
      }
      // Nested ops (cast inside matmul) are counted in their outer op only.
      phases[phaseOf(m.op)] = (phases[phaseOf(m.op)] ?? 0) + ms;
      ops[m.op] = (ops[m.op] ?? 0) + ms;
      calls[m.op] = (calls[m.op] ?? 0) + 1;
      busy += ms;
    }
    phases["host gaps"] = Math.max(0, totalMs - busy);
    const gemms = [...byShape].map(([shape, e]) => ({ shape, calls: e.calls, ms: e.ms, tflops: e.ms > 0 ? e.flops / (e.ms * 1e9) : 0 }));
    gemms.sort((x, y) => y.ms - x.ms);
    const sections = this.sections.map((sec, i) => ({ label: sec.label, ms: this.cuda.elapsedMs(sec.ev, this.sections[i + 1]?.ev ?? last), busyMs: secBusy[i]! }));
    return { totalMs, phases, ops, calls, gemms, sections };
  }
}
