import { readFileSync } from "node:fs";
import path from "node:path";
import { readSafetensors, toFloat32 } from "@mosaicbert/hub";
import { createModel, readConfig, readWeights } from "@mosaicbert/layers";
import { relativeL2, type Backend } from "@mosaicbert/tensor";

export const GOLDEN_CASES = ["mosaic-tiny-mlm", "bert-tiny-mlm", "mosaic-tiny-cls3"] as const;

export interface GoldenReport {
  name: string;
  /** Relative errors against the PyTorch reference, by output. */
  errors: Record<string, number>;
  /** Worst per-parameter gradient error (informative: tiny gradients are bf16 noise). */
  worstParam: { name: string; error: number };
  ok: boolean;
}

/**
 * Runs a golden case (dir/<name>: config.json, model.safetensors, inputs.json, outputs.safetensors,
 * written by the PyTorch reference) through the layers package's model on `be` in bf16 mixed
 * precision and compares outputs, loss and the whole gradient vector with relative L2 ≤ tol.
 */
export function runGolden(be: Backend, dir: string, name: string, tol = 2e-2): GoldenReport {
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
  const model = createModel(config, cls ? "classification" : "mlm", be, { computeDtype: "bf16" });
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
  const ours: number[] = [];
  const ref: number[] = [];
  let worstParam = { name: "", error: 0 };
  for (const [pname, p] of model.parameters()) {
    const key = `grad.${pname}`;
    if (!outputs.has(key)) continue;
    const g = p.grad.toArray() as Float32Array;
    const r = out(key);
    for (let i = 0; i < g.length; i++) { ours.push(g[i]!); ref.push(r[i]!); }
    const e = relativeL2(g, r);
    if (e > worstParam.error && !pname.endsWith("key.bias")) worstParam = { name: pname, error: e };
  }
  errors.gradients = relativeL2(ours, ref);
  model.dispose();
  const ok = Object.values(errors).every((e) => e <= tol);
  return { name, errors, worstParam, ok };
}
