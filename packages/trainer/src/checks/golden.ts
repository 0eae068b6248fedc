import { readFileSync } from "node:fs";
import path from "node:path";
import { readSafetensors, toFloat32 } from "@mosaicbert/hub";
import { createModel, readConfig, readWeights, type ComputeDtype } from "@mosaicbert/layers";
import type { Backend } from "@mosaicbert/tensor";
import { relativeL2 } from "@mosaicbert/tensor/testing";

export const GOLDEN_CASES = ["mosaic-tiny-mlm", "bert-tiny-mlm", "mosaic-tiny-cls3"] as const;

/** Relative-L2 bounds of a golden comparison: the outputs, the loss, and each parameter's gradient on its own. */
export interface GoldenBounds {
  outputs: number;
  loss: number;
  /** Bound of every single parameter's gradient (not of the concatenated gradient, where small tensors vanish). */
  gradient: number;
}

/**
 * bf16 mixed precision (the GPU path). At the last device run the outputs were within 8.2e-3 and the
 * whole gradient within 7.1e-3; a single tensor of a few hundred elements is noisier than the whole,
 * hence 3e-2 per parameter — still far below what a wrong kernel gives (an error of order 1).
 */
export const BF16_BOUNDS: GoldenBounds = { outputs: 2e-2, loss: 2e-2, gradient: 3e-2 };
/** float32 (the CPU reference): the reference's own rounding noise. */
export const F32_BOUNDS: GoldenBounds = { outputs: 1e-5, loss: 1e-5, gradient: 1e-4 };

export interface TensorError {
  name: string;
  /** Relative L2 error (Infinity when the tensor is missing or its size differs). */
  error: number;
  ok: boolean;
  detail?: string;
}

const norm = (x: ArrayLike<number>): number => {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i]! * x[i]!;
  return Math.sqrt(s);
};

/**
 * Every parameter's gradient against the reference's, each within `bound` relative L2. A parameter
 * without a reference gradient, or a reference gradient without a parameter, fails. BERT's key bias
 * has a zero gradient in exact arithmetic (softmax ignores a shift shared by all keys), so both sides
 * are rounding noise: its difference is measured against the same layer's query-bias gradient.
 */
export function compareGradients(ours: ReadonlyMap<string, ArrayLike<number>>, ref: ReadonlyMap<string, ArrayLike<number>>, bound: number): TensorError[] {
  const out: TensorError[] = [];
  for (const [name, r] of ref) {
    const g = ours.get(name);
    if (!g) {
      out.push({ name, error: Infinity, ok: false, detail: "no such parameter in the model" });
      continue;
    }
    if (g.length !== r.length) {
      out.push({ name, error: Infinity, ok: false, detail: `${g.length} values, reference ${r.length}` });
      continue;
    }
    const diff = Float64Array.from({ length: g.length }, (_, i) => g[i]! - r[i]!);
    let error: number;
    if (/\.key\.bias$/.test(name)) {
      const q = ref.get(name.replace(/key\.bias$/, "query.bias"));
      error = norm(diff) / (q ? norm(q) : 0);
    } else error = norm(diff) / norm(r);
    // NaN (a 0/0 or a NaN gradient) fails too.
    out.push({ name, error, ok: error <= bound });
  }
  for (const name of ours.keys()) {
    if (!ref.has(name)) out.push({ name, error: Infinity, ok: false, detail: "no reference gradient" });
  }
  return out;
}

export interface GoldenReport {
  name: string;
  /** Relative errors against the PyTorch reference, by output (and `gradients`: the whole vector, informative). */
  errors: Record<string, number>;
  /** Every parameter's gradient error, checked one by one. */
  params: TensorError[];
  /** The parameters whose gradient is out of bounds. */
  failed: TensorError[];
  worstParam: { name: string; error: number };
  ok: boolean;
}

export interface GoldenRun {
  name: string;
  /** Relative errors of the outputs and the loss. */
  errors: Record<string, number>;
  /** Computed and reference gradients by parameter name. */
  ours: Map<string, Float32Array>;
  ref: Map<string, Float32Array>;
}

/**
 * Runs a golden case (dir/<name>: config.json, model.safetensors, inputs.json, outputs.safetensors,
 * written by the PyTorch reference) through the layers package's model on `be` (bf16 mixed precision
 * by default): the outputs' errors and both sides' gradients, for `judgeGolden`.
 */
export function computeGolden(be: Backend, dir: string, name: string, computeDtype: ComputeDtype = "bf16"): GoldenRun {
  const d = path.join(dir, name);
  const { config } = readConfig(d);
  const { stateDict } = readWeights(d);
  const inputs = JSON.parse(readFileSync(path.join(d, "inputs.json"), "utf8")) as Record<string, number[][]>;
  const outputs = readSafetensors(path.join(d, "outputs.safetensors"));
  const out = (k: string): Float32Array => {
    const e = outputs.get(k);
    if (!e) throw new Error(`${name}: outputs.safetensors lacks ${k}`);
    return toFloat32(e);
  };
  const flat = (k: string): Int32Array => Int32Array.from(inputs[k]!.flat());
  const B = inputs.input_ids!.length;
  const S = inputs.input_ids![0]!.length;
  const cls = name.includes("cls");
  const batch = {
    inputIds: flat("input_ids"), tokenTypeIds: flat("token_type_ids"), attentionMask: flat("attention_mask"), batchSize: B, seqLen: S,
    labels: cls ? Int32Array.from(out("labels")) : flat("labels"),
  };
  const errors: Record<string, number> = {};
  const model = createModel(config, cls ? "classification" : "mlm", be, { computeDtype });
  model.loadStateDict(stateDict);
  const res = model.forward(batch as never, { grad: true, outputHiddenStates: !cls } as never) as unknown as {
    loss: { item(): number }; logits: { toArray(): unknown }; lastHiddenState?: { toArray(): unknown } | null;
  };
  if (!cls) errors.last_hidden_state = relativeL2(res.lastHiddenState!.toArray() as Float32Array, out("last_hidden_state"));
  errors[cls ? "logits" : "masked_logits"] = relativeL2(res.logits.toArray() as Float32Array, out(cls ? "logits" : "masked_logits"));
  const refLoss = out("loss")[0]!;
  errors.loss = Math.abs(res.loss.item() - refLoss) / Math.abs(refLoss);
  model.zeroGrad();
  (model as unknown as { backward(): void }).backward();
  const ours = new Map<string, Float32Array>();
  for (const [pname, p] of model.parameters()) ours.set(pname, Float32Array.from(p.grad.toArray() as Float32Array));
  model.dispose();
  const ref = new Map<string, Float32Array>();
  for (const k of outputs.keys()) if (k.startsWith("grad.")) ref.set(k.slice(5), out(k));
  return { name, errors, ours, ref };
}

export interface JudgeOptions {
  bounds?: GoldenBounds;
  /**
   * Checker self-test: multiplies this parameter's computed gradient by 1 ± 0.2 (alternating) before
   * the comparison; the report must then fail on that parameter alone.
   */
  corrupt?: string;
}

/** Checks a golden run against its bounds (BF16_BOUNDS by default): outputs, loss, every parameter's gradient. */
export function judgeGolden(run: GoldenRun, o: JudgeOptions = {}): GoldenReport {
  const bounds = o.bounds ?? BF16_BOUNDS;
  const ours = new Map(run.ours);
  if (o.corrupt !== undefined) {
    const g = ours.get(o.corrupt);
    if (!g) throw new Error(`${run.name}: corrupt ${o.corrupt}: no such parameter`);
    ours.set(o.corrupt, g.map((v, i) => v * (i % 2 === 0 ? 1.2 : 0.8)));
  }
  const { ref } = run;
  const errors = { ...run.errors };
  const params = compareGradients(ours, ref, bounds.gradient);
  // The concatenated gradient's error (what the check used to bound; informative now).
  let dd = 0;
  let rr = 0;
  for (const [k, r] of ref) {
    const g = ours.get(k);
    for (let i = 0; i < r.length; i++) {
      dd += ((g?.[i] ?? 0) - r[i]!) ** 2;
      rr += r[i]! ** 2;
    }
  }
  errors.gradients = Math.sqrt(dd / rr);
  const failed = params.filter((p) => !p.ok);
  const worst = params.filter((p) => !/\.key\.bias$/.test(p.name)).reduce((a, p) => (p.error > a.error ? p : a), { name: "", error: 0 } as TensorError);
  const outputsOk = Object.entries(errors).every(([k, e]) => k === "gradients" || e <= (k === "loss" ? bounds.loss : bounds.outputs));
  return { name: run.name, errors, params, failed, worstParam: { name: worst.name, error: worst.error }, ok: outputsOk && failed.length === 0 };
}

/** computeGolden + judgeGolden. */
export function runGolden(be: Backend, dir: string, name: string, o: JudgeOptions & { computeDtype?: ComputeDtype } = {}): GoldenReport {
  return judgeGolden(computeGolden(be, dir, name, o.computeDtype), o);
}
