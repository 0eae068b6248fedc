import type { Backend } from "@mosaicbert/tensor";
import type { CudaBackend } from "./backend.js";

/** Op name → phase of the per-phase breakdown. */
export function phaseOf(op: string): string {
  if (op === "matmul") return "gemm";
  if (op.startsWith("attention")) return "attention";
  if (op === "adamw" || op === "globalNorm" || op === "clipCoefficient") return "optimizer";
  if (op.includes("ayerNorm")) return "layernorm";
  if (op === "crossEntropy") return "loss";
  if (op === "fromArray" || op === "write" || op === "read" || op === "readBytes" || op === "synchronize") return "transfers";
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
  private marks: Array<{ op: string; a: number; b: number }> = [];
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
          const a = self.next++;
          target.recordEvent(a);
          const r = v.apply(target, args);
          const b = self.next++;
          target.recordEvent(b);
          self.marks.push({ op: name, a, b });
          return r;
        };
      },
    }) as unknown as Backend;
  }

  /** Starts a profiled region (records the region's start event). */
  begin(): void {
    this.marks = [];
    this.next = 1;
    this.cuda.recordEvent(0);
    this.enabled = true;
  }

  /** Ends the region; returns total device milliseconds and milliseconds per phase (gaps = idle device time between ops). */
  end(): { totalMs: number; phases: Record<string, number>; ops: Record<string, number> } {
    this.enabled = false;
    const last = this.next++;
    this.cuda.recordEvent(last);
    this.cuda.synchronize();
    const totalMs = this.cuda.elapsedMs(0, last);
    const phases: Record<string, number> = {};
    const ops: Record<string, number> = {};
    let busy = 0;
    for (const m of this.marks) {
      const ms = this.cuda.elapsedMs(m.a, m.b);
      // Nested ops (cast inside matmul) are counted in their outer op only.
      phases[phaseOf(m.op)] = (phases[phaseOf(m.op)] ?? 0) + ms;
      ops[m.op] = (ops[m.op] ?? 0) + ms;
      busy += ms;
    }
    phases["host gaps"] = Math.max(0, totalMs - busy);
    return { totalMs, phases, ops };
  }
}
