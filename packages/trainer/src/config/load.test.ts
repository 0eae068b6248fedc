import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { buildConfig, loadRecipe, parseOverride, recipeNames, resolveRecipe } from "./load.js";
import { ConfigError } from "./schema.js";
import { durationToSteps, parseDuration } from "./duration.js";
import { sampleCorpusDir } from "../paths.js";
import { withEnv } from "@mosaicbert/data-streaming/testing";

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

  it("the longer-sequence variants raise max_seq_len and alibi_starting_size and train batch 4096 × 70k steps (examples#442)", () => {
    const base = loadRecipe("mosaic-bert-base").config;
    for (const L of [512, 1024]) {
      const { config: c } = loadRecipe(`mosaic-bert-base-${L}`);
      expect(c.max_seq_len).toBe(L);
      expect(c.train_loader.dataset.max_seq_len).toBe(L);
      expect(c.eval_loader.dataset.max_seq_len).toBe(L);
      expect(c.model.model_config.alibi_starting_size).toBe(L);
      // The maintainers' seq-len-512 model: from scratch, batch 4096 × 70,000 steps (warmup 4,200).
      expect(c.global_train_batch_size).toBe(4096);
      const total = durationToSteps(parseDuration(c.max_duration), { globalBatchSize: 4096, tokensPerSample: L });
      expect(total).toBe(70000);
      expect(durationToSteps(parseDuration(c.scheduler.t_warmup), { globalBatchSize: 4096, tokensPerSample: L, totalSteps: total })).toBe(4200);
      // The microbatch holds as many tokens as the base recipe's.
      expect((c.device_train_microbatch_size as number) * L).toBe((base.device_train_microbatch_size as number) * 128);
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

/** mosaicml/examples yamls/main/mosaic-bert-base-uncased.yaml (daddaeff), with its commented checkpoint keys filled in. */
const REFERENCE_MOSAIC = `data_local: ./my-copy-c4
data_remote: # If blank, files must be present in data_local

max_seq_len: 128
tokenizer_name: bert-base-uncased
mlm_probability: 0.3 # MosaicBERT should use 30% masking for optimal performance

run_name: mosaic-bert-base-uncased

model:
  name: mosaic_bert
  pretrained_model_name: \${tokenizer_name}
  tokenizer_name: \${tokenizer_name}
  model_config:
    num_attention_heads: 12 # bert-base default
    num_hidden_layers: 12 # bert-base default
    attention_probs_dropout_prob: 0.0 # This must be 0 for Flash Attention with triton to work

train_loader:
  name: text
  dataset:
    local: \${data_local}
    remote: \${data_remote}
    split: train
    tokenizer_name: \${tokenizer_name}
    max_seq_len: \${max_seq_len}
    shuffle: true
    mlm_probability: \${mlm_probability}
  drop_last: true
  num_workers: 8

eval_loader:
  name: text
  dataset:
    local: \${data_local}
    remote: \${data_remote}
    split: val
    tokenizer_name: \${tokenizer_name}
    max_seq_len: \${max_seq_len}
    shuffle: false
    mlm_probability: 0.15 # We always evaluate at 15% masking for consistent comparison
  drop_last: false
  num_workers: 8

scheduler:
  name: linear_decay_with_warmup
  t_warmup: 0.06dur # Warmup to the full LR for 6% of the training duration
  alpha_f: 0.02 # Linearly decay to 0.02x the full LR by the end of the training duration

optimizer:
  name: decoupled_adamw
  lr: 5.0e-4 # Peak learning rate
  betas:
  - 0.9
  - 0.98
  eps: 1.0e-06
  weight_decay: 1.0e-5 # Amount of weight decay regularization

algorithms:
  fused_layernorm: {}

max_duration: 286720000sp # Subsample the training data for ~275M samples
eval_interval: 2000ba
global_train_batch_size: 4096

seed: 17
device_eval_batch_size: 128
device_train_microbatch_size: 128
# device_train_microbatch_size: auto
precision: amp_bf16

progress_bar: false
log_to_console: true
console_log_interval: 1ba

callbacks:
  speed_monitor:
    window_size: 500
  lr_monitor: {}

save_interval: 3500ba # Save every 3500 batches
save_num_checkpoints_to_keep: 1  # Keep the latest checkpoint
save_folder: ./{run_name}/ckpt
`;

/** The reference hf-bert-base-uncased.yaml differs in these lines. */
const REFERENCE_HF = REFERENCE_MOSAIC.replace("mlm_probability: 0.3 #", "mlm_probability: 0.15 #")
  .replace("  name: mosaic_bert\n", "  name: hf_bert\n  use_pretrained: false\n")
  .replace("    attention_probs_dropout_prob: 0.0 # This must be 0 for Flash Attention with triton to work\n", "    max_position_embedding: 512\n    attention_probs_dropout_prob: 0.1\n")
  .replace("algorithms:\n  fused_layernorm: {}\n", "")
  .replace("device_eval_batch_size: 128\n", "");

const recipeDir = mkdtempSync(join(tmpdir(), "recipe-reference-"));
function recipeFile(name: string, text: string): string {
  const f = join(recipeDir, `${name}.yaml`);
  writeFileSync(f, text);
  return f;
}

describe("the reference yamls load as they are (recipe.md §3)", () => {
  it("mosaic-bert-base-uncased.yaml: device_eval_batch_size is ignored with a one-line warning", () => {
    const { config: c, warnings } = loadRecipe(recipeFile("mosaic", REFERENCE_MOSAIC));
    expect(c.model.name).toBe("mosaic_bert");
    expect(c.train_loader.dataset.remote).toBeNull();
    expect("device_eval_batch_size" in c).toBe(false);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^device_eval_batch_size is ignored: .*global_eval_batch_size/);
    expect(warnings[0]).not.toContain("\n");
  });

  it("hf-bert-base-uncased.yaml: use_pretrained false is accepted; max_position_embedding (sic) is ignored with a warning", () => {
    const { config: c, warnings } = loadRecipe(recipeFile("hf", REFERENCE_HF));
    expect(c.model.name).toBe("hf_bert");
    expect("use_pretrained" in c.model).toBe(false);
    expect(c.model.model_config).toEqual({ num_attention_heads: 12, num_hidden_layers: 12, attention_probs_dropout_prob: 0.1 });
    expect(warnings).toEqual([expect.stringMatching(/^model\.model_config\.max_position_embedding is ignored: a misspelling of max_position_embeddings/)]);
  });

  it("the test yaml's loader key predownload is ignored with a warning", () => {
    const text = REFERENCE_MOSAIC.replace("    shuffle: true\n", "    shuffle: true\n    predownload: 1000\n");
    const { warnings } = loadRecipe(recipeFile("predownload", text));
    expect(warnings).toContainEqual(expect.stringMatching(/^train_loader\.dataset\.predownload is ignored: /));
  });

  it("model.use_pretrained: true is refused, naming the key and what to do instead", () => {
    const m = problemsOf(() => loadRecipe(recipeFile("pretrained", REFERENCE_HF.replace("use_pretrained: false", "use_pretrained: true"))));
    expect(m).toMatch(/  - model\.use_pretrained: true \(start from the pretrained Hugging Face weights of pretrained_model_name\) is not supported: .*set it to false or remove the key/);
    expect(m).toContain("mosaicbert hub pull");
    expect(m).toContain("mosaicbert finetune --model DIR");
    expect(problemsOf(() => loadRecipe(recipeFile("pretrained2", REFERENCE_HF.replace("use_pretrained: false", "use_pretrained: maybe"))))).toMatch(
      /model\.use_pretrained: expected false \(true is not supported\), got "maybe"/,
    );
  });
});

describe("save_folder", () => {
  it("{run_name} is replaced by the run name, as Composer does (the reference yamls' ./{run_name}/ckpt)", () => {
    expect(loadRecipe(recipeFile("mosaic", REFERENCE_MOSAIC)).config.save_folder).toBe("./mosaic-bert-base-uncased/ckpt");
    expect(loadRecipe("tiny-cpu", { overrides: ["save_folder=./{run_name}/ckpt", "run_name=r7"] }).config.save_folder).toBe("./r7/ckpt");
    expect(loadRecipe("tiny-cpu", { overrides: ["save_folder=/ckpt/${model.name}/{run_name}-{{x}}"] }).config.save_folder).toBe("/ckpt/mosaic_bert/tiny-cpu-{x}");
  });

  it("other format fields ({rank}, …) are refused, naming the key", () => {
    expect(problemsOf(() => loadRecipe("tiny-cpu", { overrides: ["save_folder=./ckpt/{rank}"] }))).toMatch(
      /  - save_folder: \{rank\} in "\.\/ckpt\/\{rank\}": only \{run_name\} is filled in/,
    );
  });

  it("a URL is refused up front (checkpoints are written to a local folder only), naming the option and the accepted form", () => {
    for (const url of ["s3://my-bucket/bert/ckpt", "gs://b/ckpt", "hf://datasets/o/n/ckpt", "https://host/ckpt", "s3://bucket/{run_name}/ckpt"]) {
      const m = problemsOf(() => loadRecipe("tiny-cpu", { overrides: [`save_folder=${url}`] }));
      expect(m).toMatch(/  - save_folder: "[a-z0-9]+:\/\/[^"]+" is a URL, but checkpoints are written to a local folder only/);
      expect(m).toContain("expected a local path such as ./runs/{run_name} (in save_folder or --save-folder)");
    }
  });
});

describe("omegaconf references", () => {
  it("dotted paths are absolute from the top of the recipe; list items by .N or [N]; references of references", () => {
    const { config: c } = loadRecipe("tiny-cpu", {
      overrides: ["save_folder=./ckpt/${model.name}", "run_name=${model.tokenizer_name}-b${optimizer.betas.1}-${optimizer.betas[0]}-${train_loader.dataset.max_seq_len}"],
    });
    expect(c.save_folder).toBe("./ckpt/mosaic_bert");
    // model.tokenizer_name is itself ${tokenizer_name}, train_loader.dataset.max_seq_len ${max_seq_len}.
    expect(c.run_name).toBe(`bert-base-uncased-b0.98-0.9-${c.max_seq_len}`);
    // A whole-value reference keeps the type.
    const typed = loadRecipe("tiny-cpu", { overrides: ["seed=${train_loader.dataset.max_seq_len}"] }).config;
    expect(typed.seed).toBe(typed.max_seq_len);
  });

  it("an unresolvable reference names the key that holds it and the reference", () => {
    const m = problemsOf(() => loadRecipe("tiny-cpu", { overrides: ["save_folder=./ckpt/${model.nme}", "run_name=${model.name.x}", "tokenizer_name=${nope.name}"] }));
    expect(m).toMatch(/  - save_folder: \$\{model\.nme\} refers to a key that does not exist \(no 'nme' under 'model'\)/);
    expect(m).toMatch(/  - run_name: \$\{model\.name\.x\} refers to a key that does not exist \('model\.name' is string, it has no 'x'\)/);
    expect(m).toMatch(/  - tokenizer_name: \$\{nope\.name\} refers to a key that does not exist/);
  });

  it("${oc.env:NAME} and ${oc.env:NAME,default}; an unset variable without a default names the key and the variable", () => {
    const c = withEnv({ MB_TEST_TOK: "bert-base-uncased", MB_TEST_UNSET: undefined }, () =>
      loadRecipe("tiny-cpu", { overrides: ["tokenizer_name=${oc.env:MB_TEST_TOK}", "save_folder=${oc.env:MB_TEST_UNSET,'/tmp/x y'}/{run_name}", "data_remote=${oc.env:MB_TEST_UNSET,null}"] }).config,
    );
    expect(c.tokenizer_name).toBe("bert-base-uncased");
    expect(c.save_folder).toBe("/tmp/x y/tiny-cpu");
    expect(c.data_remote).toBeNull();
    const m = withEnv({ MB_TEST_UNSET: undefined }, () => problemsOf(() => loadRecipe("tiny-cpu", { overrides: ["run_name=${oc.env:MB_TEST_UNSET}"] })));
    expect(m).toMatch(/  - run_name: \$\{oc\.env:MB_TEST_UNSET\}: the environment variable MB_TEST_UNSET is not set/);
  });

  it("unsupported forms are errors naming the key; \\${…} stays literal", () => {
    const m = problemsOf(() => loadRecipe("tiny-cpu", { overrides: ["run_name=${oc.decode:1}", "save_folder=${.name}", "tokenizer_name=${oc.env:A,${run_name}}"] }));
    expect(m).toMatch(/  - run_name: \$\{oc\.decode:1\}: the resolver 'oc\.decode' is not supported/);
    expect(m).toMatch(/  - save_folder: \$\{\.name\}: relative references are not supported/);
    expect(m).toMatch(/  - tokenizer_name: cannot read the reference in .*nested or unterminated/);
    expect(loadRecipe("tiny-cpu", { overrides: ["run_name=a\\${b}", "save_folder=null"] }).config.run_name).toBe("a${b}");
  });

  it("a cycle through dotted references is reported", () => {
    expect(problemsOf(() => loadRecipe("tiny-cpu", { overrides: ["tokenizer_name=${model.tokenizer_name}", "model.tokenizer_name=${tokenizer_name}"] }))).toMatch(/references form a cycle/);
  });
});
