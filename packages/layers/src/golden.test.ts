import * as fs from "node:fs";
import { fileURLToPath } from "node:url";
import { readSafetensors, toFloat32 } from "@mosaicbert/hub";
import { cpu } from "@mosaicbert/tensor";
import { relativeL2 as relL2 } from "@mosaicbert/tensor/testing";
import { describe, expect, it } from "vitest";
import type { Batch } from "./batch.js";
import { createModel } from "./factory.js";
import { readConfig, readWeights } from "./io.js";

const GOLDEN = fileURLToPath(new URL("../../../../shared/data/golden/", import.meta.url));

function loadCase(name: string) {
  const dir = `${GOLDEN}${name}`;
  const { config } = readConfig(dir);
  const { stateDict } = readWeights(dir);
  const inputs = JSON.parse(fs.readFileSync(`${dir}/inputs.json`, "utf8")) as Record<string, number[][]>;
  const B = inputs.input_ids!.length;
  const S = inputs.input_ids![0]!.length;
  const flat = (k: string) => Int32Array.from(inputs[k]!.flat());
  const outputs = readSafetensors(`${dir}/outputs.safetensors`);
  const out = (k: string) => {
    const e = outputs.get(k);
    if (!e) throw new Error(`${name}: outputs.safetensors lacks ${k}`);
    return toFloat32(e);
  };
  const batch: Batch = { inputIds: flat("input_ids"), tokenTypeIds: flat("token_type_ids"), attentionMask: flat("attention_mask"), batchSize: B, seqLen: S };
  return { config, stateDict, batch, inputs, outputs, out };
}

const norm = (a: Float32Array): number => Math.sqrt(a.reduce((s, v) => s + v * v, 0));

function checkGrads(model: { parameters(): Map<string, { grad: { toArray(): unknown } }> }, out: (k: string) => Float32Array, names: Iterable<string>) {
  const params = model.parameters();
  let n = 0;
  for (const name of names) {
    if (!name.startsWith("grad.")) continue;
    const pname = name.slice(5);
    const p = params.get(pname);
    expect(p, `parameter ${pname}`).toBeDefined();
    const ours = p!.grad.toArray() as Float32Array;
    if (pname.endsWith("attention.self.key.bias")) {
      // Mathematically zero (a per-query constant added to every score cancels in the softmax):
      // both sides are rounding noise, so bound the difference by the query bias's gradient scale.
      const scale = norm(out(`grad.${pname.replace("key.bias", "query.bias")}`));
      expect(norm(ours.map((v, i) => v - out(name)[i]!)), `grad ${pname}`).toBeLessThan(1e-4 * scale);
    } else {
      expect(relL2(ours, out(name)), `grad ${pname}`).toBeLessThan(1e-4);
    }
    n++;
  }
  expect(n).toBe(params.size);
}

describe("goldens (CPU, f32)", () => {
  for (const name of ["mosaic-tiny-mlm", "bert-tiny-mlm"]) {
    it(`${name}: hidden states, masked logits, loss and every gradient`, () => {
      const g = loadCase(name);
      const model = createModel(g.config, "mlm", cpu);
      model.loadStateDict(g.stateDict);
      const batch = { ...g.batch, labels: Int32Array.from(g.inputs.labels!.flat()) };
      // Eval pass with the full hidden state (every row through the last layer) ...
      const full = model.forward(batch, { outputHiddenStates: true });
      expect(relL2(full.lastHiddenState!.toArray() as Float32Array, g.out("last_hidden_state"))).toBeLessThan(1e-5);
      expect(relL2(full.logits!.toArray() as Float32Array, g.out("masked_logits"))).toBeLessThan(1e-5);
      // ... and the training pass, whose last layer runs only on the predicted rows.
      const res = model.forward(batch, { grad: true });
      const pos = g.out("masked_positions");
      expect(res.numPredicted).toBe(pos.length / 2);
      for (let i = 0; i < res.numPredicted; i++) {
        expect(res.predictedPositions![i]).toBe(pos[2 * i]! * batch.seqLen + pos[2 * i + 1]!);
      }
      expect(relL2(res.logits!.toArray() as Float32Array, g.out("masked_logits"))).toBeLessThan(1e-5);
      expect(Math.abs(res.loss!.item() - g.out("loss")[0]!) / g.out("loss")[0]!).toBeLessThan(1e-5);
      model.zeroGrad();
      model.backward();
      checkGrads(model, g.out, g.outputs.keys());
      model.dispose();
    });
  }

  it("mosaic-tiny-cls3: logits, loss and every gradient", () => {
    const g = loadCase("mosaic-tiny-cls3");
    const model = createModel(g.config, "classification", cpu);
    model.loadStateDict(g.stateDict);
    const batch = { ...g.batch, labels: Int32Array.from(g.out("labels")) };
    const res = model.forward(batch, { grad: true });
    expect(relL2(res.logits.toArray() as Float32Array, g.out("logits"))).toBeLessThan(1e-5);
    expect(Math.abs(res.loss!.item() - g.out("loss")[0]!) / g.out("loss")[0]!).toBeLessThan(1e-5);
    model.zeroGrad();
    model.backward();
    checkGrads(model, g.out, g.outputs.keys());
    model.dispose();
  });
});
