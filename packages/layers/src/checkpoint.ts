import type { ModelConfig } from "./config.js";
import { CheckpointError } from "./errors.js";
import { WORD_EMBEDDINGS } from "./heads.js";
import type { ParameterStore } from "./params.js";

/** One tensor of a state dict on the host, as float32. */
export interface StateEntry {
  shape: readonly number[];
  data: Float32Array;
}

export type StateDict = Map<string, StateEntry>;

export interface LoadOptions {
  /** Path shown in error messages. */
  file?: string;
  /**
   * Parameter-name prefixes that may be missing from the checkpoint (they keep their current values),
   * e.g. ["bert.pooler.", "classifier."] when finetuning from a masked-LM checkpoint.
   */
  allowMissing?: readonly string[];
  /** Checkpoint-name prefixes to skip silently, e.g. ["cls."] when loading an MLM checkpoint into a classifier. */
  ignoreUnexpected?: readonly string[];
}

/** Derivable or non-persistent tensors older checkpoints carry: ignored on load. */
const IGNORED = new Set(["bert.encoder.alibi", "bert.embeddings.position_ids", "bert.embeddings.token_type_ids"]);
const TIED_DECODER = "cls.predictions.decoder.weight";

/** Explains a shape mismatch in terms of the config field it contradicts. */
function shapeHint(name: string, config: ModelConfig): string {
  if (name === WORD_EMBEDDINGS || name.endsWith("decoder.bias") || name === "cls.predictions.bias") return ` (config vocab_size ${config.vocabSize}, hidden_size ${config.hiddenSize})`;
  if (name.includes("position_embeddings")) return ` (config max_position_embeddings ${config.maxPositionEmbeddings})`;
  if (name.includes("token_type_embeddings")) return ` (config type_vocab_size ${config.typeVocabSize})`;
  if (name.includes("gated_layers") || name.includes("mlp.wo.weight") || name.includes("intermediate") || name.includes("output.dense.weight")) {
    return ` (config hidden_size ${config.hiddenSize}, intermediate_size ${config.intermediateSize})`;
  }
  if (name.startsWith("classifier.")) return ` (config num_labels ${config.numLabels})`;
  return ` (config hidden_size ${config.hiddenSize})`;
}

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

function equalValues(a: Float32Array, b: Float32Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i] && !(Number.isNaN(a[i]) && Number.isNaN(b[i]))) return false;
  return true;
}

/** Encoder module names of a transformers `BertModel` state dict, which has no `bert.` prefix. */
const BARE_ENCODER = /^(embeddings|encoder|pooler)\./;
/** transformers' "legacy" renaming of TF-era checkpoints (google-bert/bert-base-uncased): LayerNorm.gamma/beta. */
const LEGACY_LAYER_NORM = /\.LayerNorm\.(gamma|beta)$/;
/** Pretraining-only heads (BertForPreTraining's next-sentence head): no model here has them; ignored on load. */
const PRETRAINING_ONLY = "cls.seq_relationship.";
const POOLER = "bert.pooler.";

/**
 * Normalises checkpoint names as transformers does on load: strips Composer's `model.` prefix; adds the
 * `bert.` prefix to a bare `BertModel` state dict (names starting with `embeddings.` / `encoder.` /
 * `pooler.`, none with `bert.`); renames the legacy `LayerNorm.gamma` / `LayerNorm.beta` to
 * `LayerNorm.weight` / `LayerNorm.bias`; drops derivable buffers; and maps transformers'
 * `cls.predictions.decoder.bias` alias onto `cls.predictions.bias` for the BERT baseline.
 */
export function normalizeStateDict(sd: StateDict, config: ModelConfig, file?: string): StateDict {
  const names = [...sd.keys()];
  const prefixed = names.length > 0 && names.every((n) => n.startsWith("model."));
  const strip = (n: string) => (prefixed ? n.slice("model.".length) : n);
  const bare = names.some((n) => /^(embeddings|encoder)\./.test(strip(n))) && !names.some((n) => strip(n).startsWith("bert."));
  const rename = (raw: string): string => {
    let name = strip(raw);
    if (bare && BARE_ENCODER.test(name)) name = `bert.${name}`;
    return name.replace(LEGACY_LAYER_NORM, (_, g: string) => (g === "gamma" ? ".LayerNorm.weight" : ".LayerNorm.bias"));
  };
  const renamed = new Map<string, string>();
  for (const raw of names) {
    const name = rename(raw);
    const other = renamed.get(name);
    if (other !== undefined) throw new CheckpointError(raw, `is the same parameter as '${other}' (${name}); expected one of the two names`, file);
    renamed.set(name, raw);
  }
  const out: StateDict = new Map();
  for (const [raw, entry] of sd) {
    const name = rename(raw);
    if (IGNORED.has(name)) continue;
    if (config.arch === "bert" && name === "cls.predictions.decoder.bias") {
      const otherRaw = renamed.get("cls.predictions.bias");
      const other = otherRaw === undefined ? undefined : sd.get(otherRaw);
      if (other && !equalValues(other.data, entry.data)) {
        throw new CheckpointError(raw, "differs from cls.predictions.bias, its tied alias", file);
      }
      if (!other) out.set("cls.predictions.bias", entry);
      continue;
    }
    out.set(name, entry);
  }
  return out;
}

/**
 * Loads host tensors into the store's master weights, strictly: every parameter must be present
 * (unless allowed missing), no unknown tensor may remain (unless ignored), shapes must match. The
 * tied decoder weight may be absent (re-tied) or present (then equal to the word embeddings).
 */
export function loadInto(store: ParameterStore, config: ModelConfig, sdIn: StateDict, opts: LoadOptions = {}): void {
  const file = opts.file;
  const sd = normalizeStateDict(sdIn, config, file);
  const params = store.parameters();
  const hasPooler = [...params.keys()].some((n) => n.startsWith(POOLER));
  for (const [name, entry] of sd) {
    if (name === TIED_DECODER && params.has(WORD_EMBEDDINGS) && params.has(mlmBiasOf(config))) continue;
    if (params.has(name)) continue;
    if (opts.ignoreUnexpected?.some((p) => name.startsWith(p))) continue;
    // As transformers does (it lists them as unused): BertForPreTraining's next-sentence head, and a
    // pooler loaded by a model without one (masked LM, bare encoder).
    if (name.startsWith(PRETRAINING_ONLY) || (name.startsWith(POOLER) && !hasPooler)) continue;
    if (name === TIED_DECODER) continue; // a tied decoder in a checkpoint loaded by a model without an MLM head
    throw new CheckpointError(name, `unexpected tensor ${fmt(entry.shape)}: this ${config.arch} model has no such parameter`, file);
  }
  const host = store.backend.read(store.flat.params) as Float32Array;
  for (const [name, p] of params) {
    const entry = sd.get(name);
    if (!entry) {
      if (opts.allowMissing?.some((pre) => name.startsWith(pre))) continue;
      throw new CheckpointError(name, `missing from the checkpoint (expected shape ${fmt(p.shape)})`, file);
    }
    if (!sameShape(entry.shape, p.shape)) {
      throw new CheckpointError(name, `shape ${fmt(entry.shape)} does not match the model's ${fmt(p.shape)}${shapeHint(name, config)}`, file);
    }
    if (entry.data.length !== p.size) throw new CheckpointError(name, `holds ${entry.data.length} values, expected ${p.size}`, file);
    host.set(entry.data, p.offset);
  }
  const tied = sd.get(TIED_DECODER);
  const word = sd.get(WORD_EMBEDDINGS);
  if (tied && word && params.has(mlmBiasOf(config))) {
    if (!sameShape(tied.shape, word.shape)) {
      throw new CheckpointError(TIED_DECODER, `shape ${fmt(tied.shape)} differs from ${WORD_EMBEDDINGS} ${fmt(word.shape)}, but the two are tied`, file);
    }
    if (!equalValues(tied.data, word.data)) {
      throw new CheckpointError(TIED_DECODER, `differs from ${WORD_EMBEDDINGS}, but the decoder is tied to the word embeddings`, file);
    }
  }
  store.backend.write(store.flat.params, host);
  store.syncLowp();
}

function mlmBiasOf(config: ModelConfig): string {
  return config.arch === "mosaic-bert" ? "cls.predictions.decoder.bias" : "cls.predictions.bias";
}

function fmt(shape: readonly number[]): string {
  return `[${shape.join(", ")}]`;
}
