export {};
export * from "./tokenizer/index.js";
export * from "./collator/index.js";
export * from "./mds/index.js";
export * from "./shuffle/index.js";
export * from "./dataset/index.js";
export * from "./parquet/index.js";
