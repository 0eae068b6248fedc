export * from "./dtypes.js";
export * from "./header.js";
export * from "./read.js";
export * from "./write.js";
export * from "./decode.js";
