export * from "./errors.js";
export * from "./safetensors/index.js";
