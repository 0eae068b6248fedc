import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { buildConfig, loadRecipe, parseOverride, recipeNames, resolveRecipe } from "./load.js";
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
      expect((c.device_train_microbatch_size as number) * L).toBe((base.device_train_microbatch_size as number) * 128);
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
    // Across processes: 8 / 4 = 2 per device, microbatch 8 too big.
    expect(problemsOf(() => loadRecipe("tiny-cpu", { worldSize: 4 }))).toMatch(/device_train_microbatch_size: 8 does not divide the per-device batch of 2/);
    expect(problemsOf(() => loadRecipe("tiny-cpu", { worldSize: 3 }))).toMatch(/global_train_batch_size: 8 is not divisible by the 3 processes/);
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

describe("hostile recipes (issue #18)", () => {
  const dir = mkdtempSync(join(tmpdir(), "recipe-hostile-"));
  const tiny = readFileSync(resolveRecipe("tiny-cpu"), "utf8");
  /** tiny-cpu with `drop` top-level keys removed and `extra` lines added (YAML refuses duplicate keys). */
  const recipe = (name: string, extra: string, drop: string[] = []) => {
    const f = join(dir, `${name}.yaml`);
    const kept = tiny.split("\n").filter((l) => !drop.some((k) => l.startsWith(`${k}:`)));
    writeFileSync(f, kept.join("\n") + "\n" + extra + "\n");
    return f;
  };

  it("keys every object inherits (constructor, toString, __proto__) are unknown keys at any depth", () => {
    const f = recipe("inherited", "constructor: 1\ntoString: x\n__proto__:\n  polluted: true\nhasOwnProperty: 2");
    const m = problemsOf(() => loadRecipe(f));
    for (const k of ["constructor", "toString", "__proto__", "hasOwnProperty"]) expect(m).toMatch(new RegExp(`  - ${k}: unknown key`));
    expect(({} as { polluted?: unknown }).polluted).toBeUndefined();
    const doc = { ...(loadRecipe("tiny-cpu").config as unknown as Record<string, unknown>) };
    doc.optimizer = JSON.parse('{"name": "decoupled_adamw", "lr": 1, "betas": [0.9, 0.98], "eps": 1e-6, "weight_decay": 0, "__proto__": {"x": 1}, "constructor": 2}');
    const m2 = problemsOf(() => buildConfig(doc, "doc"));
    expect(m2).toMatch(/optimizer\.__proto__: unknown key/);
    expect(m2).toMatch(/optimizer\.constructor: unknown key/);
    expect(problemsOf(() => parseOverride("constructor=1"))).toMatch(/constructor: unknown key/);
    expect(problemsOf(() => parseOverride("optimizer.__proto__.x=1"))).toMatch(/optimizer\.__proto__: unknown key/);
    expect(problemsOf(() => parseOverride("toString=1"))).toMatch(/toString: unknown key/);
  });

  it("${constructor} and other inherited names never reach Object.prototype", () => {
    const f = recipe("interp", "run_name: ${constructor}-${toString}", ["run_name"]);
    const m = problemsOf(() => loadRecipe(f));
    expect(m).toMatch(/run_name: \$\{constructor\} refers to a top-level key that does not exist/);
    expect(m).toMatch(/run_name: \$\{toString\} refers to a top-level key that does not exist/);
    expect(m).not.toMatch(/native code/);
  });

  it("references that multiply are capped", () => {
    const chain = ["a0: xxxxxxxxxxxxxxxxxxxx"];
    for (let i = 1; i <= 8; i++) chain.push(`a${i}: "${("${a" + (i - 1) + "}").repeat(10)}"`);
    const f = recipe("laughs", chain.join("\n") + "\nrun_name: ${a8}", ["run_name"]);
    expect(problemsOf(() => loadRecipe(f))).toMatch(/references expand to more than the 65536 characters/);
  });

  it("seeds above 2^32 − 1 (and so those YAML rounds past 2^53) are refused, not rounded", () => {
    const m = problemsOf(() => loadRecipe(recipe("seed", "seed: 9007199254740993", ["seed"])));
    expect(m).toMatch(/seed: expected an integer in \[0, 4294967295\], got 9007199254740992 \(integers beyond 2\^53 − 1 cannot be read exactly\)/);
    expect(problemsOf(() => loadRecipe("tiny-cpu", { overrides: ["seed=4294967296"] }))).toMatch(/seed: expected an integer in \[0, 4294967295\], got 4294967296/);
    expect(loadRecipe("tiny-cpu", { overrides: ["seed=4294967295"] }).config.seed).toBe(4294967295);
  });

  it("out-of-range sizes name the key and the range", () => {
    const m = problemsOf(() => loadRecipe("tiny-cpu", { overrides: ["max_seq_len=1e9", "global_train_batch_size=1e12", "train_loader.num_workers=100000", "optimizer.lr=.inf"] }));
    expect(m).toMatch(/  - max_seq_len: expected an integer in \[1, 65536\], got 1000000000/);
    expect(m).toMatch(/  - global_train_batch_size: expected an integer in \[1, 1048576\], got 1000000000000/);
    expect(m).toMatch(/  - train_loader\.num_workers: expected an integer in \[0, 1024\], got 100000/);
    expect(m).toMatch(/  - optimizer\.lr: expected a finite number ≥ 0, got Infinity/);
  });

  it("a max_duration of zero is refused (it would save an untrained checkpoint)", () => {
    for (const d of ["0ba", "0sp", "0.0min", "0tok"]) {
      expect(problemsOf(() => loadRecipe("tiny-cpu", { overrides: [`max_duration=${d}`] }))).toMatch(/max_duration: expected a duration above zero \(e\.g\. "1ba"\), got "[^"]+": nothing would be trained/);
    }
    expect(loadRecipe("tiny-cpu", { overrides: ["max_duration=1sp"] }).config.max_duration).toBe("1sp");
  });
});
