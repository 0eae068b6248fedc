import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { saveModelFolder } from "@mosaicbert/hub";
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

  /** A Hugging Face folder written from host tensors (float32 safetensors), with the given config. */
  function folder(name: string, hfConfig: Record<string, unknown>, sd: StateDict): string {
    const dir = path.join(tmp, name);
    const tensors = new Map([...sd].map(([k, v]) => [k, { dtype: "f32" as const, shape: [...v.shape], data: v.data }]));
    saveModelFolder(dir, { config: hfConfig, tensors, modelCard: false });
    return dir;
  }
  const BERT = fileURLToPath(new URL("../../../../shared/data/golden/bert-tiny-mlm", import.meta.url));
  const bertConfig = JSON.parse(fs.readFileSync(path.join(BERT, "config.json"), "utf8")) as Record<string, unknown>;
  const bertSd = readWeights(BERT).stateDict;
  const H = readConfig(BERT).config.hiddenSize;
  const filled = (shape: number[], v: number) => ({ shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)).fill(v) });
  const sameAs = (model: { stateDictHost(): StateDict }, ref: StateDict, rename: (n: string) => string = (n) => n) => {
    for (const [name, e] of model.stateDictHost()) {
      const want = ref.get(rename(name));
      if (want) expect(same(e.data, want.data), name).toBe(true);
    }
  };

  it("loads a transformers BertModel folder (no bert. prefix, pooler.*) for embed, classification and finetuning", () => {
    // BertModel.save_pretrained's names (checked against transformers 5.17): the encoder without `bert.`, plus pooler.*.
    const sd: StateDict = new Map();
    for (const [k, v] of bertSd) if (k.startsWith("bert.")) sd.set(k.slice(5), v);
    sd.set("pooler.dense.weight", filled([H, H], 0.25));
    sd.set("pooler.dense.bias", filled([H], 0.5));
    const dir = folder("bert-model", { ...bertConfig, architectures: ["BertModel"] }, sd);
    const enc = loadPretrained(dir, cpu);
    expect(enc.task).toBe("encoder");
    sameAs(enc.model, bertSd);
    enc.model.dispose();
    const cls = loadPretrained(dir, cpu, { task: "classification", allowMissing: ["classifier."] });
    const host = cls.model.stateDictHost();
    expect(host.get("bert.pooler.dense.weight")!.data.every((x) => x === 0.25)).toBe(true);
    expect(host.get("bert.pooler.dense.bias")!.data.every((x) => x === 0.5)).toBe(true);
    sameAs(cls.model, bertSd);
    cls.model.dispose();
    // finetune's call: a classifier from the starting weights, with the file named in errors.
    const m = createModel(readConfig(BERT).config, "classification", cpu);
    const loaded = readWeights(dir);
    m.loadStateDict(loaded.stateDict, { file: loaded.file, allowMissing: ["bert.pooler.", "classifier."], ignoreUnexpected: ["cls."] });
    sameAs(m, bertSd);
    loaded.stateDict.set("encoder.layer.0.extra", filled([2], 0));
    expect(() => m.loadStateDict(loaded.stateDict, { file: loaded.file, allowMissing: ["classifier."] })).toThrow(/bert-model\/model\.safetensors.*'bert\.encoder\.layer\.0\.extra': unexpected/);
    m.dispose();
  });

  it("loads the MosaicBERT golden saved as a BertModel (bert. prefix removed)", () => {
    const hf = JSON.parse(fs.readFileSync(path.join(DIR, "config.json"), "utf8")) as Record<string, unknown>;
    const sd: StateDict = new Map([...stateDict].map(([k, v]) => [k.startsWith("bert.") ? k.slice(5) : k, v]));
    const { model, task } = loadPretrained(folder("mosaic-no-prefix", hf, sd), cpu);
    expect(task).toBe("mlm");
    sameAs(model, stateDict);
    model.dispose();
  });

  it("loads a bert-base-uncased layout: LayerNorm gamma/beta, BertForPreTraining's pooler and next-sentence head", () => {
    const sd: StateDict = new Map();
    for (const [k, v] of bertSd) sd.set(k.replace(/\.LayerNorm\.weight$/, ".LayerNorm.gamma").replace(/\.LayerNorm\.bias$/, ".LayerNorm.beta"), v);
    expect([...sd.keys()].filter((k) => k.endsWith(".gamma")).length).toBe(6);
    sd.set("bert.pooler.dense.weight", filled([H, H], 0.25));
    sd.set("bert.pooler.dense.bias", filled([H], 0.5));
    sd.set("cls.seq_relationship.weight", filled([2, H], 1));
    sd.set("cls.seq_relationship.bias", filled([2], 1));
    const dir = folder("bbu", { ...bertConfig, architectures: ["BertForMaskedLM"] }, sd);
    const { model, task } = loadPretrained(dir, cpu);
    expect(task).toBe("mlm");
    sameAs(model, bertSd);
    model.dispose();
    // Finetuning from it keeps its pooler.
    const cls = loadPretrained(dir, cpu, { task: "classification", allowMissing: ["classifier."], ignoreUnexpected: ["cls."] });
    expect(cls.model.stateDictHost().get("bert.pooler.dense.bias")!.data.every((x) => x === 0.5)).toBe(true);
    sameAs(cls.model, bertSd);
    cls.model.dispose();
    // Both spellings of one parameter: refused by name.
    sd.set("bert.embeddings.LayerNorm.weight", bertSd.get("bert.embeddings.LayerNorm.weight")!);
    expect(() => load(sd)).toThrow(/'bert\.embeddings\.LayerNorm\.(gamma|weight)': is the same parameter as/);
  });

  it("recognises MosaicBERT weights under a plain BertConfig without alibi_starting_size; keeps BERT for BERT weights", () => {
    const hf = JSON.parse(fs.readFileSync(path.join(DIR, "config.json"), "utf8")) as Record<string, unknown>;
    delete hf.alibi_starting_size;
    const dir = folder("mosaic-no-alibi", { ...hf, model_type: "bert" }, stateDict);
    expect(readConfig(dir).config.arch).toBe("bert"); // the config alone says BERT
    const { model, warnings } = loadPretrained(dir, cpu);
    expect(model.config.arch).toBe("mosaic-bert");
    expect(model.config.alibiStartingSize).toBe(512);
    expect(warnings.join("\n")).toMatch(/alibi_starting_size: missing, but the MosaicBERT weight 'bert\.encoder\.layer\.0\.attention\.self\.Wqkv\.(weight|bias)' says MosaicBERT/);
    sameAs(model, stateDict);
    model.dispose();
    const bert = loadPretrained(BERT, cpu);
    expect(bert.model.config.arch).toBe("bert");
    expect(bert.warnings.join("\n")).not.toMatch(/alibi_starting_size/);
    bert.model.dispose();
  });
});
