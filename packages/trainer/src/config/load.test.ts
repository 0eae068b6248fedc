import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { buildConfig, loadRecipe, parseOverride, recipeNames } from "./load.js";
import { ConfigError } from "./schema.js";
import { durationToSteps, parseDuration } from "./duration.js";
import { sampleCorpusDir } from "../paths.js";

function problemsOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ConfigError);
    return (e as Error).message;
  }
  throw new Error("expected a ConfigError");
}

describe("shipped recipes", () => {
  it("all of them load and validate", () => {
    expect(recipeNames()).toEqual(["bert-base", "bert-large", "mosaic-bert-base", "mosaic-bert-base-1024", "mosaic-bert-base-512", "mosaic-bert-large", "tiny-cpu"]);
    for (const n of recipeNames()) expect(() => loadRecipe(n)).not.toThrow();
  });

  it("mosaic-bert-base mirrors the reference yaml (recipe.md §3)", () => {
    const { config: c } = loadRecipe("mosaic-bert-base");
    expect(c.model.name).toBe("mosaic_bert");
    expect(c.train_loader.dataset.mlm_probability).toBe(0.3);
    expect(c.eval_loader.dataset.mlm_probability).toBe(0.15);
    expect(c.optimizer).toEqual({ name: "decoupled_adamw", lr: 5e-4, betas: [0.9, 0.98], eps: 1e-6, weight_decay: 1e-5 });
    expect(c.scheduler).toEqual({ name: "linear_decay_with_warmup", t_warmup: "0.06dur", alpha_f: 0.02 });
    expect(c.global_train_batch_size).toBe(4096);
    expect(c.device_train_microbatch_size).toBe(128);
    expect(c.precision).toBe("amp_bf16");
    expect(c.seed).toBe(17);
    // ${tokenizer_name} / ${data_local} interpolation.
    expect(c.model.pretrained_model_name).toBe("bert-base-uncased");
    expect(c.train_loader.dataset.local).toBe("./my-copy-c4");
    const total = durationToSteps(parseDuration(c.max_duration), { globalBatchSize: 4096, tokensPerSample: 128 });
    expect(total).toBe(70000);
    expect(durationToSteps(parseDuration(c.scheduler.t_warmup), { globalBatchSize: 4096, tokensPerSample: 128, totalSteps: total })).toBe(4200);
  });

  it("the longer-sequence variants raise max_seq_len and alibi_starting_size and keep the batch and duration in tokens", () => {
    const base = loadRecipe("mosaic-bert-base").config;
    for (const L of [512, 1024]) {
      const { config: c } = loadRecipe(`mosaic-bert-base-${L}`);
      expect(c.max_seq_len).toBe(L);
      expect(c.train_loader.dataset.max_seq_len).toBe(L);
      expect(c.eval_loader.dataset.max_seq_len).toBe(L);
      expect(c.model.model_config.alibi_starting_size).toBe(L);
      expect(c.global_train_batch_size * L).toBe(base.global_train_batch_size * 128);
      expect(c.device_train_microbatch_size * L).toBe(base.device_train_microbatch_size * 128);
      const samples = (d: string): number => Number(/^(\d+)sp$/.exec(d)![1]);
      expect(samples(c.max_duration) * L).toBe(samples(base.max_duration) * 128);
      expect({ ...c.optimizer, ...c.scheduler }).toEqual({ ...base.optimizer, ...base.scheduler });
      expect(c.train_loader.dataset.mlm_probability).toBe(0.3);
    }
  });

  it("bert-base is the HF baseline: 15% masking, attention dropout 0.1, no fused LayerNorm", () => {
    const { config: c } = loadRecipe("bert-base");
    expect(c.model.name).toBe("hf_bert");
    expect(c.train_loader.dataset.mlm_probability).toBe(0.15);
    expect(c.model.model_config.attention_probs_dropout_prob).toBe(0.1);
    expect(c.algorithms).toEqual({});
  });

  it("tiny-cpu points at the shipped sample corpus", () => {
    const { config: c } = loadRecipe("tiny-cpu");
    expect(c.train_loader.dataset.local).toBe(sampleCorpusDir());
    expect(c.device).toBe("cpu");
  });
});

describe("--set overrides", () => {
  it("are typed by the schema", () => {
    expect(parseOverride("optimizer.lr=1e-3")).toEqual(["optimizer.lr", 0.001]);
    expect(parseOverride("optimizer.betas=[0.9, 0.95]")).toEqual(["optimizer.betas", [0.9, 0.95]]);
    expect(parseOverride("run_name=123")).toEqual(["run_name", "123"]);
    expect(parseOverride("max_duration=10min")).toEqual(["max_duration", "10min"]);
    expect(parseOverride("save_folder=null")).toEqual(["save_folder", null]);
    const { config } = loadRecipe("mosaic-bert-base", {
      overrides: ["global_train_batch_size=256", "device_train_microbatch_size=64", "data_local=/data/c4"],
    });
    expect(config.global_train_batch_size).toBe(256);
    // The override flows through ${data_local}.
    expect(config.eval_loader.dataset.local).toBe("/data/c4");
  });

  it("unknown keys fail with the key named and a suggestion", () => {
    const m = problemsOf(() => parseOverride("optimizer.learning_rate=1"));
    expect(m).toContain("optimizer.learning_rate");
    expect(problemsOf(() => parseOverride("optimzer.lr=1"))).toMatch(/optimzer.*did you mean 'optimizer'/);
    expect(problemsOf(() => parseOverride("no-equals-sign"))).toMatch(/key=value/);
  });

  it("wrong types fail with the key named", () => {
    const m = problemsOf(() => loadRecipe("tiny-cpu", { overrides: ["optimizer.lr=fast", "seed=1.5", "precision=fp16"] }));
    expect(m).toMatch(/optimizer\.lr: expected a number, got string "fast"/);
    expect(m).toMatch(/seed: expected an integer/);
    expect(m).toMatch(/precision: expected one of amp_bf16, fp32/);
  });
});

describe("validation of recipe files", () => {
  const base = () => loadRecipe("tiny-cpu").config as unknown as Record<string, unknown>;

  it("a microbatch that does not divide the batch fails before training, key named", () => {
    const m = problemsOf(() => loadRecipe("tiny-cpu", { overrides: ["device_train_microbatch_size=12", "global_train_batch_size=32"] }));
    expect(m).toMatch(/device_train_microbatch_size: 12 does not divide the per-device batch of 32/);
    // Across processes: 16 / 4 = 4 per device, microbatch 8 too big.
    expect(problemsOf(() => loadRecipe("tiny-cpu", { worldSize: 4 }))).toMatch(/device_train_microbatch_size: 8 does not divide the per-device batch of 4/);
    expect(problemsOf(() => loadRecipe("tiny-cpu", { worldSize: 3 }))).toMatch(/global_train_batch_size: 16 is not divisible by the 3 processes/);
  });

  it("unknown keys at any depth, bad durations and missing keys are all reported at once", () => {
    const doc = base();
    (doc.optimizer as Record<string, unknown>).momentum = 0.9;
    doc.max_duration = "10 parsecs";
    doc.eval_interval = "0.5dur";
    delete doc.seed;
    const m = problemsOf(() => buildConfig(doc, "my.yaml"));
    expect(m).toContain("invalid config my.yaml");
    expect(m).toMatch(/optimizer\.momentum: unknown key/);
    expect(m).toMatch(/max_duration: expected a number followed by a unit/);
    expect(m).toMatch(/eval_interval: unit "dur" not allowed here/);
    expect(m).toMatch(/seed: missing/);
  });

  it("reports a bad YAML file by path and an unknown recipe name with the choices", () => {
    const dir = mkdtempSync(join(tmpdir(), "recipe-"));
    const f = join(dir, "bad.yaml");
    writeFileSync(f, "model: [unclosed\n");
    expect(problemsOf(() => loadRecipe(f))).toMatch(/bad\.yaml[\s\S]*not valid YAML/);
    expect(() => loadRecipe("mosaic-bert-huge")).toThrow(/no recipe named 'mosaic-bert-huge'.*mosaic-bert-base/);
    const f2 = join(dir, "ref.yaml");
    writeFileSync(f2, "run_name: ${nope}\n");
    expect(problemsOf(() => loadRecipe(f2))).toMatch(/run_name: \$\{nope\} refers to a top-level key that does not exist/);
  });
});
