export { classificationBatch, encodeBatch, padBatch, type ClassificationBatch, type TokenBatch } from "./batch.js";
export { unpaddedLayout, type UnpaddedLayout } from "./layout.js";
export { IGNORE_INDEX, MlmCollator, mlmBatch, mlmOptionsFor, sliceMlmBatch, type MlmBatch, type MlmOptions } from "./mlm.js";
export { MaskRng } from "./rng.js";
