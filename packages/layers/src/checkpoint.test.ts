import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { cpu } from "@mosaicbert/tensor";
import { afterAll, describe, expect, it } from "vitest";
import type { StateDict } from "./checkpoint.js";
import { createModel } from "./factory.js";
import { loadPretrained, readConfig, readWeights, savePretrained } from "./io.js";

const DIR = fileURLToPath(new URL("../../../../shared/data/golden/mosaic-tiny-mlm", import.meta.url));
const { config } = readConfig(DIR);
const { stateDict } = readWeights(DIR);
const same = (a: ArrayLike<number>, b: ArrayLike<number>): boolean => a.length === b.length && Array.prototype.every.call(a, (v: number, i: number) => v === b[i]);
const copy = (sd: StateDict): StateDict => new Map([...sd].map(([k, v]) => [k, { shape: [...v.shape], data: v.data.slice() }]));

function load(sd: StateDict, task: "mlm" | "classification" = "mlm", opts = {}) {
  const m = createModel(config, task, cpu);
  try {
    m.loadStateDict(sd, opts);
    return m.stateDictHost({ includeTied: true });
  } finally {
    m.dispose();
  }
}

describe("loading checkpoints", () => {
  it("re-ties an absent decoder weight to the word embeddings", () => {
    const out = load(stateDict);
    expect(same(out.get("cls.predictions.decoder.weight")!.data, stateDict.get("bert.embeddings.word_embeddings.weight")!.data)).toBe(true);
    expect(same(out.get("bert.encoder.layer.1.mlp.wo.bias")!.data, stateDict.get("bert.encoder.layer.1.mlp.wo.bias")!.data)).toBe(true);
  });

  it("accepts a present, equal decoder weight; rejects a different one by name", () => {
    const sd = copy(stateDict);
    const word = sd.get("bert.embeddings.word_embeddings.weight")!;
    sd.set("cls.predictions.decoder.weight", { shape: word.shape, data: word.data.slice() });
    expect(() => load(sd)).not.toThrow();
    sd.get("cls.predictions.decoder.weight")!.data[5] += 1;
    expect(() => load(sd)).toThrow(/cls\.predictions\.decoder\.weight.*differs/);
  });

  it("strips Composer's model. prefix and ignores the old bert.encoder.alibi buffer", () => {
    const sd: StateDict = new Map([...stateDict].map(([k, v]) => [`model.${k}`, v]));
    sd.set("model.bert.encoder.alibi", { shape: [1, 2, 512, 512], data: new Float32Array(2 * 512 * 512) });
    const out = load(sd);
    expect(same(out.get("cls.predictions.decoder.bias")!.data, stateDict.get("cls.predictions.decoder.bias")!.data)).toBe(true);
  });

  it("names a missing tensor", () => {
    const sd = copy(stateDict);
    sd.delete("bert.encoder.layer.0.mlp.wo.weight");
    expect(() => load(sd)).toThrow(/'bert\.encoder\.layer\.0\.mlp\.wo\.weight': missing/);
  });

  it("names an unexpected tensor", () => {
    const sd = copy(stateDict);
    sd.set("bert.encoder.layer.0.mlp.extra", { shape: [2], data: new Float32Array(2) });
    expect(() => load(sd)).toThrow(/'bert\.encoder\.layer\.0\.mlp\.extra': unexpected/);
  });

  it("names a tensor whose shape contradicts the config", () => {
    const sd = copy(stateDict);
    sd.set("bert.embeddings.word_embeddings.weight", { shape: [2047, 128], data: new Float32Array(2047 * 128) });
    expect(() => load(sd)).toThrow(/'bert\.embeddings\.word_embeddings\.weight': shape \[2047, 128\].*vocab_size 2048/);
  });

  it("finetuning: a classifier loads an MLM checkpoint when told the pooler/classifier may be missing and cls.* ignored", () => {
    expect(() => load(stateDict, "classification")).toThrow(/unexpected|missing/);
    const out = load(stateDict, "classification", { allowMissing: ["bert.pooler.", "classifier."], ignoreUnexpected: ["cls."] });
    expect(out.has("classifier.weight")).toBe(true);
  });

  it("round-trips stateDictHost → loadStateDict", () => {
    const m = createModel(config, "mlm", cpu, { seed: 3 });
    const sd = m.stateDictHost();
    const m2 = createModel(config, "mlm", cpu, { seed: 4 });
    m2.loadStateDict(sd);
    expect(same(m2.flat.params.toArray() as Float32Array, m.flat.params.toArray() as Float32Array)).toBe(true);
    m.dispose();
    m2.dispose();
  });
});

describe("model folders", () => {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "layers-ckpt-"));
  afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

  it("pytorch_model.bin (tied decoder included) loads to the same weights as model.safetensors", () => {
    const dir = path.join(tmp, "bin");
    fs.mkdirSync(dir);
    fs.copyFileSync(path.join(DIR, "config.json"), path.join(dir, "config.json"));
    fs.copyFileSync(path.join(DIR, "pytorch_model.bin"), path.join(dir, "pytorch_model.bin"));
    const { model } = loadPretrained(dir, cpu);
    const ref = load(stateDict);
    for (const [name, e] of model.stateDictHost({ includeTied: true })) expect(same(e.data, ref.get(name)!.data), name).toBe(true);
    model.dispose();
  });

  it("savePretrained → loadPretrained round-trips a classifier", () => {
    const m = createModel({ ...config, numLabels: 3 }, "classification", cpu, { seed: 11 });
    const dir = path.join(tmp, "saved");
    savePretrained(m, dir, { architectures: ["BertForSequenceClassification"] });
    const { model, task } = loadPretrained(dir, cpu);
    expect(task).toBe("classification");
    expect(model.config.numLabels).toBe(3);
    expect(same(model.flat.params.toArray() as Float32Array, m.flat.params.toArray() as Float32Array)).toBe(true);
    model.dispose();
    m.dispose();
  });
});
