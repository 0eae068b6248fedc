export * from "./errors.js";
export * from "./config.js";
export * from "./remote-code.js";
export * from "./presets.js";
export * from "./alibi.js";
export * from "./params.js";
export * from "./batch.js";
export * from "./checkpoint.js";
export { ModelBase, EncoderModel, type ForwardOptions, type ModelOptions } from "./model.js";
export { ForMaskedLM, MosaicBertForMaskedLM, BertForMaskedLM, type MaskedLMOutput } from "./mlm.js";
export {
  ForSequenceClassification, MosaicBertForSequenceClassification, BertForSequenceClassification, type SequenceClassifierOutput,
} from "./cls.js";
export * from "./factory.js";
export * from "./optim/index.js";
export * from "./io.js";
