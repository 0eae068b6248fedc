import type { Field, Schema } from "./schema.js";
import type { DurationUnit } from "./duration.js";
import { DEVICE_FORMS, DEVICE_PATTERN } from "../device.js";

/**
 * The pretraining recipe, key for key the layout of the reference yamls
 * (mosaicml/examples: examples/benchmarks/bert/yamls/main/*.yaml), plus a few keys the reference
 * took from Composer defaults or its launcher (device, save_*, eval_subset_num_batches).
 * Values may be referenced as `${key}` or `${dotted.key}` (omegaconf: absolute from the top of the
 * recipe) anywhere below, and environment variables as `${oc.env:NAME}` / `${oc.env:NAME,default}`.
 * `{run_name}` in save_folder is replaced by the run name, as Composer does. Keys of the reference
 * yamls that have no effect are accepted and ignored with a warning (IGNORED_KEYS).
 */
export interface DatasetConfig {
  local: string;
  remote: string | null;
  split: string;
  tokenizer_name: string;
  max_seq_len: number;
  shuffle: boolean;
  mlm_probability: number;
  shuffle_seed: number;
}

export interface LoaderConfig {
  name: "text";
  dataset: DatasetConfig;
  drop_last: boolean;
  num_workers: number;
}

export interface PretrainConfig {
  run_name: string;
  data_local: string;
  data_remote: string | null;
  max_seq_len: number;
  tokenizer_name: string;
  mlm_probability: number;
  model: {
    name: "mosaic_bert" | "hf_bert";
    /** Base architecture: bert-base-uncased, bert-large-uncased or tiny; model_config overrides it. */
    pretrained_model_name: string;
    tokenizer_name: string;
    /** Hugging Face BertConfig keys (num_attention_heads, num_hidden_layers, hidden_size, …). */
    model_config: Record<string, number | string | null>;
  };
  train_loader: LoaderConfig;
  eval_loader: LoaderConfig;
  scheduler: { name: "linear_decay_with_warmup" | "constant_with_warmup" | "cosine_with_warmup"; t_warmup: string; alpha_f: number };
  optimizer: { name: "decoupled_adamw"; lr: number; betas: [number, number]; eps: number; weight_decay: number };
  algorithms: {
    fused_layernorm?: Record<string, never> | null;
    gradient_clipping?: { clipping_type: "norm"; clipping_threshold: number } | null;
  };
  max_duration: string;
  eval_interval: string;
  /** Eval batches per evaluation (−1 = the whole split). */
  eval_subset_num_batches: number;
  global_train_batch_size: number;
  /** Defaults to the global train batch, as in the reference main.py. */
  global_eval_batch_size: number | null;
  /** Rows per forward/backward pass, or "auto": the largest divisor of the device batch that fits the GPU's memory. */
  device_train_microbatch_size: number | "auto";
  precision: "amp_bf16" | "fp32";
  seed: number;
  /** auto, cpu, cuda or cuda:N (../device.ts). */
  device: string;
  progress_bar: boolean;
  log_to_console: boolean;
  console_log_interval: string;
  callbacks: { speed_monitor?: { window_size: number } | null; lr_monitor?: Record<string, never> | null };
  save_folder: string | null;
  save_interval: string;
  save_num_checkpoints_to_keep: number;
}

/**
 * Keys of the reference yamls (recipe.md §3, mosaicml/examples yamls/main and yamls/test) that have
 * no effect on training, there or here: accepted, removed before validation, and named in a one-line
 * warning with the reason. (`model.use_pretrained` is handled on its own: false is the only value
 * this trainer supports; true is refused.)
 */
export const IGNORED_KEYS: Readonly<Record<string, string>> = {
  device_eval_batch_size:
    "the reference main.py does not read it either; the eval batch is global_eval_batch_size (default: global_train_batch_size) divided over the processes",
  "model.model_config.max_position_embedding":
    "a misspelling of max_position_embeddings in the reference hf-bert yaml, without effect there either (set max_position_embeddings to change the size)",
  "train_loader.dataset.predownload": "a download-ahead setting of mosaicml-streaming; it does not change the samples, and this loader fetches shards as it reaches them",
  "eval_loader.dataset.predownload": "a download-ahead setting of mosaicml-streaming; it does not change the samples, and this loader fetches shards as it reaches them",
};

const int = (min = 0, extra: Partial<Field> = {}): Field => ({ type: "number", integer: true, min, ...extra }) as Field;

/**
 * Upper bounds: far above any real recipe, low enough that a typo (max_seq_len: 1e9) is named here
 * instead of ending in an allocation failure inside the model or the data loader.
 */
export const LIMITS = {
  /** Tokens per sample (ALiBi extrapolates past 512, but a sequence is held whole per row). */
  seqLen: 65_536,
  /** Samples per global or per-device batch. */
  batch: 1 << 20,
  /** Seeds: every draw derives from a 32-bit mix of the seed (and streaming's numpy seeds are 32-bit). */
  seed: 2 ** 32 - 1,
  workers: 1024,
} as const;
const num = (extra: Partial<Field> = {}): Field => ({ type: "number", ...extra }) as Field;
const str = (extra: Partial<Field> = {}): Field => ({ type: "string", ...extra }) as Field;
const bool: Field = { type: "boolean" };
const prob: Field = { type: "number", min: 0, max: 1 };
const dur = (units: DurationUnit[], extra: Partial<Field> = {}): Field => ({ type: "duration", units, ...extra }) as Field;
const empty: Field = { type: "object", fields: {}, nullable: true, optional: true };

/** HF BertConfig keys accepted under model.model_config (layers' fromHfConfig checks their values). */
export const MODEL_CONFIG_KEYS = [
  "vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size", "hidden_act",
  "hidden_dropout_prob", "attention_probs_dropout_prob", "max_position_embeddings", "type_vocab_size",
  "initializer_range", "layer_norm_eps", "pad_token_id", "alibi_starting_size",
] as const;

const modelConfigFields: Record<string, Field> = Object.fromEntries(
  MODEL_CONFIG_KEYS.map((k) => [k, k === "hidden_act" ? str({ optional: true }) : num({ optional: true, min: 0 })]),
);

const dataset: Field = {
  type: "object",
  fields: {
    local: str(),
    remote: str({ nullable: true, optional: true }),
    split: str(),
    tokenizer_name: str(),
    max_seq_len: int(1, { max: LIMITS.seqLen }),
    shuffle: bool,
    mlm_probability: prob,
    shuffle_seed: int(0, { optional: true, max: LIMITS.seed }),
  },
};

const loader: Field = {
  type: "object",
  fields: { name: str({ enum: ["text"] }), dataset, drop_last: bool, num_workers: int(0, { max: LIMITS.workers }) },
};

export const PRETRAIN_SCHEMA: Schema = {
  type: "object",
  fields: {
    run_name: str(),
    data_local: str(),
    data_remote: str({ nullable: true, optional: true }),
    max_seq_len: int(1, { max: LIMITS.seqLen }),
    tokenizer_name: str(),
    mlm_probability: prob,
    model: {
      type: "object",
      fields: {
        name: str({ enum: ["mosaic_bert", "hf_bert"] }),
        pretrained_model_name: str(),
        tokenizer_name: str(),
        model_config: { type: "object", fields: modelConfigFields },
      },
    },
    train_loader: loader,
    eval_loader: loader,
    scheduler: {
      type: "object",
      fields: {
        name: str({ enum: ["linear_decay_with_warmup", "constant_with_warmup", "cosine_with_warmup"] }),
        t_warmup: dur(["ba", "sp", "tok", "ep", "dur"]),
        alpha_f: num({ min: 0, optional: true }),
      },
    },
    optimizer: {
      type: "object",
      fields: {
        name: str({ enum: ["decoupled_adamw"] }),
        lr: num({ min: 0 }),
        betas: { type: "array", items: { type: "number", min: 0, max: 0.999999 }, length: 2 },
        eps: num({ min: 0 }),
        weight_decay: num({ min: 0 }),
      },
    },
    algorithms: {
      type: "object",
      fields: {
        fused_layernorm: empty,
        gradient_clipping: {
          type: "object",
          nullable: true,
          optional: true,
          fields: { clipping_type: str({ enum: ["norm"] }), clipping_threshold: num({ min: 0, exclusiveMin: true }) },
        },
      },
    },
    max_duration: dur(["ba", "sp", "tok", "ep", "s", "min", "h"], { positive: true }),
    eval_interval: dur(["ba", "sp", "tok", "ep"]),
    eval_subset_num_batches: int(-1),
    global_train_batch_size: int(1, { max: LIMITS.batch }),
    global_eval_batch_size: int(1, { nullable: true, optional: true, max: LIMITS.batch }),
    device_train_microbatch_size: int(1, { max: LIMITS.batch, words: ["auto"] }),
    precision: str({ enum: ["amp_bf16", "fp32"] }),
    seed: int(0, { max: LIMITS.seed }),
    device: str({ pattern: { re: DEVICE_PATTERN, forms: DEVICE_FORMS } }),
    progress_bar: bool,
    log_to_console: bool,
    console_log_interval: dur(["ba"]),
    callbacks: {
      type: "object",
      fields: {
        speed_monitor: { type: "object", nullable: true, optional: true, fields: { window_size: int(1, { max: LIMITS.batch }) } },
        lr_monitor: empty,
      },
    },
    save_folder: str({ nullable: true, optional: true }),
    save_interval: dur(["ba", "sp", "tok", "ep"]),
    save_num_checkpoints_to_keep: int(-1),
  },
};
