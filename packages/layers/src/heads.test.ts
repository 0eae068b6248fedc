import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { cpu } from "@mosaicbert/tensor";
import { relativeL2 } from "@mosaicbert/tensor/testing";
import { afterAll, describe, expect, it } from "vitest";
import { fromHfConfig } from "./config.js";
import { createModel } from "./factory.js";
import { fixtureBatch, fixtureConfig, fixtureCopy, fixtureDir, fixtureRef } from "./fixtures/config-audit/load.js";
import { HOST_ACTIVATIONS, MLM_HEAD_ACTIVATIONS, mlmHeadLayerNormEps } from "./heads.js";
import { loadPretrained, readWeights } from "./io.js";
import type { ForMaskedLM } from "./mlm.js";

// MosaicBERT MLM, layer_norm_eps 1e-5, outputs of the reference bert_layers.py (fixtures/config-audit/README.md).
const DIR = fixtureDir("mosaic-mlm-eps1e-5");
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "heads-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function mlmLogits(over: Record<string, unknown>): { logits: Float32Array; hidden: Float32Array; warnings: string[] } {
  const { config, warnings } = fromHfConfig(fixtureConfig(DIR, over));
  const model = createModel(config, "mlm", cpu) as ForMaskedLM;
  model.loadStateDict(readWeights(DIR).stateDict);
  const out = model.forward(fixtureBatch(DIR), { outputHiddenStates: true });
  const logits = out.logits!.toArray() as Float32Array;
  const hidden = out.lastHiddenState!.toArray() as Float32Array;
  out.logits!.dispose();
  out.lastHiddenState!.dispose();
  model.dispose();
  return { logits, hidden, warnings };
}

describe("MLM head: LayerNorm eps and hidden_act as the MosaicBERT reference", () => {
  it("MosaicBERT's head LayerNorm uses eps 1e-12 whatever layer_norm_eps (1e-5 here) says; BERT keeps layer_norm_eps", () => {
    const { logits, hidden } = mlmLogits({});
    // The encoder's LayerNorms do use 1e-5: the hidden states match too.
    expect(relativeL2(hidden, fixtureRef(DIR, "last_hidden_state"))).toBeLessThan(1e-5);
    // With the head's LN at 1e-5 the logits are 4e-4 off.
    expect(relativeL2(logits, fixtureRef(DIR, "logits.gelu"))).toBeLessThan(1e-5);
    const { config } = fromHfConfig(fixtureConfig(DIR));
    expect(config.layerNormEps).toBe(1e-5);
    expect(mlmHeadLayerNormEps(config)).toBe(1e-12);
    expect(mlmHeadLayerNormEps({ ...config, arch: "bert" })).toBe(1e-5);
  });

  for (const act of MLM_HEAD_ACTIVATIONS) {
    it(`hidden_act ${act}: logits of the reference's head (ACT2FN["${act}"])`, () => {
      const { logits, hidden } = mlmLogits({ hidden_act: act });
      expect(relativeL2(hidden, fixtureRef(DIR, "last_hidden_state"))).toBeLessThan(1e-5); // the GLU stays exact GELU
      expect(relativeL2(logits, fixtureRef(DIR, `logits.${act}`))).toBeLessThan(1e-5);
      if (act !== "gelu" && act !== "gelu_python") expect(relativeL2(logits, fixtureRef(DIR, "logits.gelu"))).toBeGreaterThan(5e-5);
    });
  }

  it("position_embedding_type relative_key is ignored with a warning (the reference's logits are those of absolute)", () => {
    const { logits, warnings } = mlmLogits({ position_embedding_type: "relative_key" });
    expect(warnings.join("\n")).toMatch(/position_embedding_type: "relative_key" ignored: MosaicBERT has no position embeddings/);
    expect(relativeL2(logits, fixtureRef(DIR, "logits.relative_key"))).toBeLessThan(1e-5);
  });

  it("host activations' derivatives match finite differences", () => {
    for (const [name, { f, d }] of Object.entries(HOST_ACTIVATIONS)) {
      for (const x of [-3.1, -1.2, -0.3, 0.4, 1.7, 2.9]) {
        const h = 1e-6;
        expect(d(x), `${name}'(${x})`).toBeCloseTo((f(x + h) - f(x - h)) / (2 * h), 6);
      }
    }
  });

  it("a host activation's backward gives the gradient of its forward (directional finite difference)", () => {
    const { config } = fromHfConfig(fixtureConfig(DIR, { hidden_act: "gelu_new" }));
    const model = createModel(config, "mlm", cpu) as ForMaskedLM;
    model.loadStateDict(readWeights(DIR).stateDict);
    const batch = { ...fixtureBatch(DIR), labels: Int32Array.from([-100, 7, -100, 12, 30, -100, 4, -100, 9, -100, -100, -100]) };
    const name = "cls.predictions.transform.dense.weight";
    const p = model.parameters().get(name)!;
    const lossAt = () => {
      const out = model.forward(batch);
      const l = (out.loss!.toArray() as Float32Array)[0]!;
      out.loss!.dispose();
      out.logits?.dispose();
      return l;
    };
    model.zeroGrad();
    const out = model.forward(batch, { grad: true });
    out.loss!.dispose();
    out.logits?.dispose();
    model.backward();
    const g = Float64Array.from(p.grad.toArray() as Float32Array);
    const w0 = Float32Array.from(p.param.toArray() as Float32Array);
    const dir = Float32Array.from(w0, (_, i) => Math.sin(i * 1.3));
    const eps = 1e-2;
    const shifted = (s: number) => {
      cpu.write(p.param, Float32Array.from(w0, (v, i) => v + s * eps * dir[i]!));
      model.syncLowp();
      return lossAt();
    };
    const fd = (shifted(1) - shifted(-1)) / (2 * eps);
    cpu.write(p.param, w0);
    const an = g.reduce((s, v, i) => s + v * dir[i]!, 0);
    expect(Math.abs(fd - an)).toBeLessThan(2e-3 * Math.max(1, Math.abs(an)));
    model.dispose();
  });

  it("an activation the head lacks is refused for the MLM task only, naming file, field and the supported list", () => {
    const dir = fixtureCopy(DIR, tmp, "mish", { hidden_act: "mish" });
    expect(() => loadPretrained(dir, cpu)).toThrow(
      new RegExp(`${dir.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&")}/config\\.json: config field 'hidden_act': "mish" is not supported by the MLM head.*expected one of gelu, gelu_python, gelu_new`),
    );
    // The encoder alone does not use hidden_act (MosaicBERT), so it loads.
    const { model, task } = loadPretrained(dir, cpu, { task: "encoder" });
    expect(task).toBe("encoder");
    model.dispose();
    // Names transformers does not know are refused for every task.
    expect(() => fromHfConfig(fixtureConfig(DIR, { hidden_act: "gleu" }), { file: "m/config.json" })).toThrow(/m\/config\.json: config field 'hidden_act': expected a transformers activation name/);
  });
});
