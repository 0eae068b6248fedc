export {};
export * from "./tokenizer/index.js";
