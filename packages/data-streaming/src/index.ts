export {};
export * from "./tokenizer/index.js";
export * from "./collator/index.js";
export * from "./mds/index.js";
