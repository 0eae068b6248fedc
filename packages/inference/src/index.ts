// Inference pipelines: a model folder (config.json + weights) and texts or ids in, predictions out.
// One file per pipeline; each takes a Backend (default: the CPU reference), never names a device.
//   infer.ts        runInfer: a folder over inputs.json or texts, in chunks; hidden states and logits
//   fill-mask.ts    top-k tokens at every [MASK] of a masked-LM model
//   class-probs.ts  per-row class probabilities (or regression scores) of a classifier
//   format.ts       the console / JSON-lines rendering of a result
//   embed.ts        Embedder / encode: one vector per text (mean or [CLS] pooling), length-sorted token-budget batches
export { runInfer, readInferInputs, type InferOptions, type InferResult } from "./infer.js";
export {
  encodeTexts, fillMask, masksFromLogits, topKSoftmax,
  type FillMaskResult, type MaskFill, type TextTokenizer, type TokenNamer, type TokenScore,
} from "./fill-mask.js";
export { classesFromLogits, type RowClasses } from "./class-probs.js";
export { NO_MASK_NOTE, formatClasses, formatFillMask, formatInferResult } from "./format.js";
export {
  Embedder, encode, planBatches, DEFAULT_TOKEN_BUDGET, MOSAIC_MAX_SEQ_LEN,
  type EncodeOptions, type EncodeTimings, type EmbedderOptions, type Pooling,
} from "./embed.js";
// The tokenizer of a model folder (vocab.txt, tokenizer.json, else bert-base-uncased), shared with GLUE.
export { modelFolderTokenizer } from "@mosaicbert/data-streaming";
