export * from "./errors.js";
export * from "./safetensors/index.js";
export * from "./torch/index.js";
export * from "./folder/index.js";
export * from "./hub/index.js";
