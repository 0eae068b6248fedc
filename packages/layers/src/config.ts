import { ConfigError } from "./errors.js";
import { MOSAIC_AUTO_MAP, MOSAIC_MODEL_TYPE, hfArchitectures } from "./remote-code.js";

/** Which architecture a config describes. */
export type Arch = "mosaic-bert" | "bert";

export type ProblemType = "regression" | "single_label_classification" | "multi_label_classification";

/** The activation names transformers' ACT2FN knows (transformers 5.17), the values `hidden_act` may take. */
export const HF_ACTIVATIONS = [
  "gelu", "gelu_10", "gelu_fast", "gelu_new", "gelu_python", "gelu_pytorch_tanh", "gelu_python_tanh", "gelu_accurate",
  "hardswish", "laplace", "leaky_relu", "linear", "mish", "quick_gelu", "relu", "relu2", "relu6", "sigmoid", "silu",
  "sqrtsoftplus", "swish", "tanh", "prelu", "xielu",
] as const;
export type HiddenAct = (typeof HF_ACTIVATIONS)[number];

/**
 * A model configuration in camelCase. `fromHfConfig` reads it from a Hugging Face config.json
 * (MosaicBERT: `model_type` "mosaic_bert", or "bert" with `alibi_starting_size` as the reference's folders
 * have it), `toHfConfig` writes it back (MosaicBERT with model_type "mosaic_bert" and an `auto_map` to the
 * PyTorch code of remote-code.ts).
 */
export interface ModelConfig {
  arch: Arch;
  vocabSize: number;
  hiddenSize: number;
  numHiddenLayers: number;
  numAttentionHeads: number;
  /** BERT: the FFN width. MosaicBERT: the GLU width per half (the gate projection outputs 2×). */
  intermediateSize: number;
  /**
   * BERT: "gelu" only (exact erf GELU in the FFN and the MLM head). MosaicBERT: any transformers ACT2FN name;
   * as in the reference it is used only by the MLM head transform (the GLU is always exact GELU), whose
   * supported subset is MLM_HEAD_ACTIVATIONS (heads.ts); classifiers and encoders ignore it.
   */
  hiddenAct: HiddenAct;
  hiddenDropoutProb: number;
  attentionProbsDropoutProb: number;
  /** BERT: size of the learned position table. MosaicBERT: unused for positions. */
  maxPositionEmbeddings: number;
  typeVocabSize: number;
  initializerRange: number;
  layerNormEps: number;
  padTokenId: number;
  /** MosaicBERT only: initial side of the reference's precomputed ALiBi matrix (not a length limit here). */
  alibiStartingSize: number | null;
  /** Dropout before the classifier; null falls back to hiddenDropoutProb. */
  classifierDropout: number | null;
  numLabels: number;
  problemType: ProblemType | null;
  /** Hugging Face `architectures` (e.g. ["BertForMaskedLM"]), kept for round trips. */
  architectures: string[];
  id2label: Record<string, string> | null;
}

/** Fields of config.json this package interprets. */
const MODEL_KEYS = [
  "vocab_size", "hidden_size", "num_hidden_layers", "num_attention_heads", "intermediate_size", "hidden_act",
  "hidden_dropout_prob", "attention_probs_dropout_prob", "max_position_embeddings", "type_vocab_size",
  "initializer_range", "layer_norm_eps", "pad_token_id", "alibi_starting_size", "classifier_dropout", "num_labels",
  "problem_type", "architectures", "id2label", "label2id", "position_embedding_type", "model_type",
] as const;

/**
 * Generic Hugging Face PretrainedConfig fields: accepted and ignored (they do not change the encoder), except
 * `is_decoder`, `add_cross_attention` and `tie_word_embeddings: false`, which checkEncoderOnly refuses for BERT.
 */
const GENERIC_KEYS = [
  "transformers_version", "torch_dtype", "dtype", "_name_or_path", "_commit_hash", "auto_map", "output_hidden_states",
  "output_attentions", "return_dict", "use_cache", "chunk_size_feed_forward", "is_encoder_decoder", "is_decoder",
  "add_cross_attention", "bos_token_id", "eos_token_id", "sep_token_id", "decoder_start_token_id", "tie_word_embeddings",
  "tie_encoder_decoder", "gradient_checkpointing", "tokenizer_class", "prefix", "task_specific_params",
  "cross_attention_hidden_size", "finetuning_task", "pruned_heads", "torchscript", "use_bfloat16", "tf_legacy_loss",
  "max_length", "min_length", "do_sample", "early_stopping", "num_beams", "num_beam_groups", "diversity_penalty",
  "temperature", "top_k", "top_p", "typical_p", "repetition_penalty", "length_penalty", "no_repeat_ngram_size",
  "encoder_no_repeat_ngram_size", "bad_words_ids", "num_return_sequences", "output_scores", "return_dict_in_generate",
  "forced_bos_token_id", "forced_eos_token_id", "remove_invalid_values", "exponential_decay_length_penalty",
  "suppress_tokens", "begin_suppress_tokens", "_attn_implementation_autoset", "_attn_implementation",
];

const KNOWN = new Set<string>([...MODEL_KEYS, ...GENERIC_KEYS]);

export interface ParsedConfig {
  config: ModelConfig;
  /** Unknown fields, each named (e.g. "unknown field 'max_position_embedding' ignored"). */
  warnings: string[];
}

export interface FromHfOptions {
  /** Path shown in error messages. */
  file?: string;
  /** Unknown fields become errors instead of warnings. */
  strict?: boolean;
  /**
   * The checkpoint's tensor names: when the config alone does not say which architecture it is (model_type
   * "bert" without alibi_starting_size, as MosaicBERT folders from before Feb 2023 have it), MosaicBERT
   * weights (`attention.self.Wqkv`, `mlp.gated_layers`) decide.
   */
  tensorNames?: Iterable<string>;
}

/** Tensor names only MosaicBERT checkpoints have (the fused QKV projection and the gated MLP). */
const MOSAIC_TENSOR = /(^|\.)(attention\.self\.Wqkv|mlp\.gated_layers)\.(weight|bias)$/;

/**
 * Which architecture a config describes: MosaicBERT for model_type "mosaic_bert" or an
 * alibi_starting_size; else MosaicBERT when another hint says so (MosaicBert* architectures, an auto_map
 * into the reference's bert_layers module, or MosaicBERT tensor names); else BERT. Returns the hint used.
 */
function detectArch(j: Json, names: Iterable<string> | undefined): { arch: Arch; hint: string | null } {
  if (j.model_type === MOSAIC_MODEL_TYPE || (j.alibi_starting_size !== undefined && j.alibi_starting_size !== null)) return { arch: "mosaic-bert", hint: null };
  const archs = Array.isArray(j.architectures) ? j.architectures : [];
  if (archs.some((a) => typeof a === "string" && a.startsWith("MosaicBert"))) return { arch: "mosaic-bert", hint: `architectures ${JSON.stringify(archs)}` };
  const autoMap = j.auto_map !== null && typeof j.auto_map === "object" ? Object.values(j.auto_map as Record<string, unknown>) : [];
  if (autoMap.some((v) => typeof v === "string" && /(^|--)bert_layers\./.test(v))) return { arch: "mosaic-bert", hint: "auto_map into bert_layers.py (the MosaicBERT reference code)" };
  if (names) {
    for (const n of names) if (MOSAIC_TENSOR.test(n)) return { arch: "mosaic-bert", hint: `the MosaicBERT weight '${n}'` };
  }
  return { arch: "bert", hint: null };
}

type Json = Record<string, unknown>;

function num(j: Json, key: string, def: number | undefined, check: (v: number) => boolean, form: string, file?: string): number {
  const v = j[key];
  if (v === undefined || v === null) {
    if (def === undefined) throw new ConfigError(key, `missing; expected ${form}`, file);
    return def;
  }
  if (typeof v !== "number" || !Number.isFinite(v) || !check(v)) throw new ConfigError(key, `expected ${form}, got ${JSON.stringify(v)}`, file);
  return v;
}

const posInt = (v: number): boolean => Number.isInteger(v) && v > 0;
const prob = (v: number): boolean => v >= 0 && v < 1;

/** Reads a Hugging Face config.json object. Throws ConfigError naming the field on bad values. */
export function fromHfConfig(json: unknown, opts: FromHfOptions = {}): ParsedConfig {
  const file = opts.file;
  if (json === null || typeof json !== "object" || Array.isArray(json)) {
    throw new ConfigError("(root)", "expected a JSON object", file);
  }
  const j = json as Json;
  const warnings: string[] = [];
  for (const k of Object.keys(j)) {
    if (KNOWN.has(k)) continue;
    const msg = k === "max_position_embedding"
      ? "unknown field (a typo of max_position_embeddings in the reference's baseline yaml); ignored"
      : "unknown field; ignored";
    if (opts.strict) throw new ConfigError(k, msg.replace("; ignored", ""), file);
    warnings.push(`${k}: ${msg}`);
  }
  if (j.model_type !== undefined && j.model_type !== "bert" && j.model_type !== MOSAIC_MODEL_TYPE) {
    throw new ConfigError("model_type", `expected "${MOSAIC_MODEL_TYPE}" (MosaicBERT) or "bert" (BERT, or MosaicBERT in the reference's folders), got ${JSON.stringify(j.model_type)}`, file);
  }
  const tensorNames = opts.tensorNames ? [...opts.tensorNames] : undefined;
  const { arch, hint } = detectArch(j, tensorNames);
  if (hint) warnings.push(`alibi_starting_size: missing, but ${hint} says MosaicBERT; loading it as MosaicBERT with alibi_starting_size 512 (the reference's default)`);
  const mosaic = arch === "mosaic-bert";
  const hiddenAct = j.hidden_act ?? "gelu";
  if (!mosaic && hiddenAct !== "gelu") {
    throw new ConfigError("hidden_act", `BERT: only "gelu" (exact erf GELU, the FFN and MLM-head activation) is supported, got ${JSON.stringify(hiddenAct)}`, file);
  }
  if (typeof hiddenAct !== "string" || !(HF_ACTIVATIONS as readonly string[]).includes(hiddenAct)) {
    throw new ConfigError("hidden_act", `expected a transformers activation name (${HF_ACTIVATIONS.join(", ")}), got ${JSON.stringify(hiddenAct)}`, file);
  }
  const pet = j.position_embedding_type;
  if (pet !== undefined && pet !== null && pet !== "absolute") {
    if (!mosaic) throw new ConfigError("position_embedding_type", `only "absolute" is supported, got ${JSON.stringify(pet)}`, file);
    warnings.push(`position_embedding_type: ${JSON.stringify(pet)} ignored: MosaicBERT has no position embeddings (ALiBi attention biases), as in the reference`);
  }
  checkEncoderOnly(j, mosaic, tensorNames, warnings, file);
  const hiddenSize = num(j, "hidden_size", undefined, posInt, "a positive integer", file);
  const numAttentionHeads = num(j, "num_attention_heads", undefined, posInt, "a positive integer", file);
  if (hiddenSize % numAttentionHeads !== 0) {
    throw new ConfigError("num_attention_heads", `hidden_size ${hiddenSize} is not divisible by num_attention_heads ${numAttentionHeads}`, file);
  }
  const architectures = j.architectures ?? [];
  if (!Array.isArray(architectures) || architectures.some((a) => typeof a !== "string")) {
    throw new ConfigError("architectures", `expected an array of class names, got ${JSON.stringify(architectures)}`, file);
  }
  let id2label: Record<string, string> | null = null;
  if (j.id2label !== undefined && j.id2label !== null) {
    if (typeof j.id2label !== "object" || Array.isArray(j.id2label)) throw new ConfigError("id2label", "expected an object {index: name}", file);
    id2label = j.id2label as Record<string, string>;
  }
  const fromLabels = id2label ? Object.keys(id2label).length : undefined;
  if (fromLabels === 0) throw new ConfigError("id2label", "has no entries; expected one name per label", file);
  const numLabels = num(j, "num_labels", fromLabels ?? 2, posInt, "a positive integer", file);
  if (fromLabels !== undefined && j.num_labels !== undefined && fromLabels !== numLabels) {
    throw new ConfigError("num_labels", `is ${numLabels} but id2label has ${fromLabels} entries`, file);
  }
  const pt = j.problem_type ?? null;
  if (pt !== null && pt !== "regression" && pt !== "single_label_classification" && pt !== "multi_label_classification") {
    throw new ConfigError("problem_type", `expected regression, single_label_classification or multi_label_classification, got ${JSON.stringify(pt)}`, file);
  }
  if (pt === "regression" && numLabels !== 1) throw new ConfigError("problem_type", `regression needs num_labels 1, got ${numLabels}`, file);
  const cd = j.classifier_dropout;
  const config: ModelConfig = {
    arch,
    vocabSize: num(j, "vocab_size", undefined, posInt, "a positive integer", file),
    hiddenSize,
    numHiddenLayers: num(j, "num_hidden_layers", undefined, posInt, "a positive integer", file),
    numAttentionHeads,
    intermediateSize: num(j, "intermediate_size", undefined, posInt, "a positive integer", file),
    hiddenAct: hiddenAct as HiddenAct,
    hiddenDropoutProb: num(j, "hidden_dropout_prob", 0.1, prob, "a probability in [0, 1)", file),
    attentionProbsDropoutProb: num(j, "attention_probs_dropout_prob", arch === "mosaic-bert" ? 0 : 0.1, prob, "a probability in [0, 1)", file),
    maxPositionEmbeddings: num(j, "max_position_embeddings", 512, posInt, "a positive integer", file),
    typeVocabSize: num(j, "type_vocab_size", 2, posInt, "a positive integer", file),
    initializerRange: num(j, "initializer_range", 0.02, (v) => v >= 0, "a non-negative number", file),
    layerNormEps: num(j, "layer_norm_eps", 1e-12, (v) => v > 0, "a positive number", file),
    padTokenId: num(j, "pad_token_id", 0, (v) => Number.isInteger(v) && v >= 0, "a non-negative integer", file),
    alibiStartingSize: arch === "mosaic-bert" ? num(j, "alibi_starting_size", 512, posInt, "a positive integer", file) : null,
    classifierDropout: cd === undefined || cd === null ? null : num(j, "classifier_dropout", 0, prob, "a probability in [0, 1) or null", file),
    numLabels,
    problemType: pt,
    architectures: architectures as string[],
    id2label,
  };
  if (config.padTokenId >= config.vocabSize) {
    throw new ConfigError("pad_token_id", `${config.padTokenId} is not below vocab_size ${config.vocabSize}`, file);
  }
  checkAllocatable(config, file);
  return { config, warnings };
}

/**
 * Fields of a transformers BERT config that change what the model computes but that this package does not
 * implement: a causal decoder, cross-attention, an untied MLM decoder. BERT refuses them by name; the MosaicBERT
 * reference ignores them (its attention is always bidirectional, its decoder always the word embeddings), so
 * MosaicBERT loads with a warning.
 */
function checkEncoderOnly(j: Json, mosaic: boolean, tensorNames: string[] | undefined, warnings: string[], file?: string): void {
  const refusals: Array<[string, boolean, string]> = [
    ["is_decoder", j.is_decoder === true, "true (a causal decoder, as BertLMHeadModel: transformers then masks attention causally) is not supported: only bidirectional encoders; expected false or absent"],
    ["add_cross_attention", j.add_cross_attention === true, "true (cross-attention layers of an encoder-decoder) is not supported; expected false or absent"],
  ];
  // The untied decoder matters only to a masked LM (a classifier or encoder has no decoder).
  const archs = Array.isArray(j.architectures) ? j.architectures.filter((a): a is string => typeof a === "string") : [];
  const mlm = archs.some((a) => /MaskedLM|PreTraining|LMHead/.test(a)) || (tensorNames ?? []).some((n) => /(^|\.)cls\.predictions\./.test(n));
  refusals.push(["tie_word_embeddings", j.tie_word_embeddings === false && mlm,
    "false (an untied MLM decoder: cls.predictions.decoder.weight apart from the word embeddings) is not supported; expected true or absent (classifier and encoder folders load with it)"]);
  for (const [field, bad, msg] of refusals) {
    if (!bad) continue;
    if (!mosaic) throw new ConfigError(field, msg, file);
    warnings.push(`${field}: ${JSON.stringify(j[field])} ignored, as the MosaicBERT reference does (bidirectional encoder, decoder tied to the word embeddings)`);
  }
}

/** Parameters are held in one flat float buffer; no model this package can build is larger. */
export const MAX_PARAMETERS = 2 ** 32 - 1;

/**
 * Refuses sizes no machine could hold before anything allocates them: a typo such as hidden_size 1e12
 * would otherwise end in a RangeError deep in the backend, or in building a billion layers one by one.
 */
function checkAllocatable(c: ModelConfig, file?: string): void {
  const H = c.hiddenSize;
  const I = c.intermediateSize * (c.arch === "mosaic-bert" ? 3 : 2);
  const rows = c.vocabSize + c.typeVocabSize + (c.arch === "bert" ? c.maxPositionEmbeddings : 0) + c.numLabels;
  const total = rows * H + c.numHiddenLayers * (4 * H * H + I * H + 10 * H);
  if (total <= MAX_PARAMETERS) return;
  // Blame the first size that is too large on its own; otherwise it is the number of layers.
  const alone: Array<[string, number]> = [
    ["hidden_size", 4 * H * H], ["intermediate_size", I * H], ["vocab_size", c.vocabSize * H],
    ["max_position_embeddings", c.arch === "bert" ? c.maxPositionEmbeddings * H : 0], ["type_vocab_size", c.typeVocabSize * H], ["num_labels", c.numLabels * H],
  ];
  const field = alone.find(([, n]) => n > MAX_PARAMETERS / 2)?.[0] ?? "num_hidden_layers";
  const sizes = `vocab_size ${c.vocabSize}, hidden_size ${H}, num_hidden_layers ${c.numHiddenLayers}, intermediate_size ${c.intermediateSize}`;
  throw new ConfigError(field, `the model would have about ${total.toPrecision(3)} parameters (${sizes}), more than the ${MAX_PARAMETERS} that can be allocated`, file);
}

/**
 * Writes a config.json object transformers can read: BERT as model_type "bert"; MosaicBERT as "mosaic_bert"
 * with MosaicBert* architectures and an `auto_map` to the Python files of remoteCodeFiles(), which must be
 * written beside it (savePretrained and the trainer's checkpoints do).
 */
export function toHfConfig(c: ModelConfig): Record<string, unknown> {
  const mosaic = c.arch === "mosaic-bert";
  const out: Record<string, unknown> = {
    architectures: hfArchitectures(mosaic, c.architectures),
    model_type: mosaic ? MOSAIC_MODEL_TYPE : "bert",
    ...(mosaic ? { auto_map: { ...MOSAIC_AUTO_MAP } } : {}),
    vocab_size: c.vocabSize,
    hidden_size: c.hiddenSize,
    num_hidden_layers: c.numHiddenLayers,
    num_attention_heads: c.numAttentionHeads,
    intermediate_size: c.intermediateSize,
    hidden_act: c.hiddenAct,
    hidden_dropout_prob: c.hiddenDropoutProb,
    attention_probs_dropout_prob: c.attentionProbsDropoutProb,
    max_position_embeddings: c.maxPositionEmbeddings,
    type_vocab_size: c.typeVocabSize,
    initializer_range: c.initializerRange,
    layer_norm_eps: c.layerNormEps,
    pad_token_id: c.padTokenId,
    position_embedding_type: "absolute",
    classifier_dropout: c.classifierDropout,
    problem_type: c.problemType,
    tie_word_embeddings: true,
  };
  if (c.arch === "mosaic-bert") out.alibi_starting_size = c.alibiStartingSize ?? 512;
  // transformers derives num_labels from id2label, so a stale label map must not survive a change of numLabels.
  const current = c.id2label && Object.keys(c.id2label).length === c.numLabels ? c.id2label : null;
  const labels = current ?? Object.fromEntries(Array.from({ length: c.numLabels }, (_, i) => [String(i), `LABEL_${i}`]));
  out.id2label = labels;
  out.label2id = Object.fromEntries(Object.entries(labels).map(([k, v]) => [v, Number(k)]));
  return out;
}

/** Checks a camelCase config (e.g. a preset with overrides) with the same rules as config.json. */
export function validateConfig(c: ModelConfig): ModelConfig {
  return fromHfConfig({ ...toHfConfig(c), num_labels: c.numLabels }, { strict: true }).config;
}
