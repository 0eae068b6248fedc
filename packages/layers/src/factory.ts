import type { Backend } from "@mosaicbert/tensor";
import { BertForSequenceClassification, ForSequenceClassification, MosaicBertForSequenceClassification } from "./cls.js";
import type { ModelConfig } from "./config.js";
import { ConfigError } from "./errors.js";
import { encoderSpecs } from "./encoder.js";
import { classifierSpecs, mlmBiasName, mlmHeadSpecs } from "./heads.js";
import { BertForMaskedLM, ForMaskedLM, MosaicBertForMaskedLM, assertArch } from "./mlm.js";
import { EncoderModel, type ModelOptions } from "./model.js";

/** MosaicBERT encoder without heads (reference `BertModel` without its pooler). */
export class MosaicBertModel extends EncoderModel {
  constructor(config: ModelConfig, backend: Backend, opts: ModelOptions = {}) {
    assertArch(config, "mosaic-bert", "MosaicBertModel");
    super(config, backend, opts);
  }
}

/** BERT baseline encoder without heads (transformers `BertModel(add_pooling_layer=False)`). */
export class BertModel extends EncoderModel {
  constructor(config: ModelConfig, backend: Backend, opts: ModelOptions = {}) {
    assertArch(config, "bert", "BertModel");
    super(config, backend, opts);
  }
}

export type Task = "mlm" | "classification" | "encoder";
export type AnyModel = ForMaskedLM | ForSequenceClassification | EncoderModel;

/** Builds the model class matching config.arch and the task. */
export function createModel(config: ModelConfig, task: "mlm", backend: Backend, opts?: ModelOptions): ForMaskedLM;
export function createModel(config: ModelConfig, task: "classification", backend: Backend, opts?: ModelOptions): ForSequenceClassification;
export function createModel(config: ModelConfig, task: "encoder", backend: Backend, opts?: ModelOptions): EncoderModel;
export function createModel(config: ModelConfig, task: Task, backend: Backend, opts?: ModelOptions): AnyModel;
export function createModel(config: ModelConfig, task: Task, backend: Backend, opts: ModelOptions = {}): AnyModel {
  const mosaic = config.arch === "mosaic-bert";
  switch (task) {
    case "mlm": return mosaic ? new MosaicBertForMaskedLM(config, backend, opts) : new BertForMaskedLM(config, backend, opts);
    case "classification":
      return mosaic ? new MosaicBertForSequenceClassification(config, backend, opts) : new BertForSequenceClassification(config, backend, opts);
    case "encoder": return mosaic ? new MosaicBertModel(config, backend, opts) : new BertModel(config, backend, opts);
    default: throw new Error(`unknown task '${String(task)}': expected mlm, classification or encoder`);
  }
}

/** Hugging Face classes this package builds: masked LMs (and pretraining folders), sequence classifiers, bare encoders. */
const SUPPORTED_ARCHITECTURE = /(ForMaskedLM|ForPreTraining|ForSequenceClassification)$|^(Mosaic)?Bert(Model)?$/;
/** A class name of some other head (BertForTokenClassification, BertLMHeadModel ...). */
const HEAD_CLASS = /For[A-Z]\w*$|LMHeadModel$/;

/**
 * Which head a checkpoint carries, from its tensor names (MLM bias → "mlm", classifier → "classification"),
 * falling back to config `architectures`, else "encoder". Throws a ConfigError naming `architectures` (and
 * `file`) when they list only heads this package does not build (token classification, multiple choice,
 * question answering, causal LM ...), whose tensors would otherwise be misread; pass a task to
 * loadPretrained to load such a folder's encoder anyway (task "encoder").
 */
export function detectTask(config: ModelConfig, tensorNames: Iterable<string>, file?: string): Task {
  const unsupported = config.architectures.filter((a) => HEAD_CLASS.test(a) && !SUPPORTED_ARCHITECTURE.test(a));
  if (unsupported.length > 0 && unsupported.length === config.architectures.length) {
    throw new ConfigError(
      "architectures",
      `${unsupported.join(", ")}: this head is not supported; expected a masked LM (BertForMaskedLM, BertForPreTraining, MosaicBertForMaskedLM), a sequence classifier (BertForSequenceClassification, MosaicBertForSequenceClassification) or an encoder (BertModel, MosaicBertModel)`,
      file,
    );
  }
  const names = new Set<string>();
  for (const n of tensorNames) names.add(n.startsWith("model.") ? n.slice(6) : n);
  if (names.has(mlmBiasName(config)) || names.has("cls.predictions.decoder.bias") || names.has("cls.predictions.bias")) return "mlm";
  if (names.has("classifier.weight")) return "classification";
  const a = config.architectures.join(" ");
  if (/MaskedLM|PreTraining/.test(a)) return "mlm";
  if (/SequenceClassification/.test(a)) return "classification";
  return "encoder";
}

/** Parameter count of a config's model without allocating it (tied decoder counted once, as PyTorch does). */
export function countParameters(config: ModelConfig, task: Task): number {
  const specs = [...encoderSpecs(config), ...(task === "mlm" ? mlmHeadSpecs(config) : task === "classification" ? classifierSpecs(config) : [])];
  return specs.reduce((n, s) => n + s.shape.reduce((a, b) => a * b, 1), 0);
}
