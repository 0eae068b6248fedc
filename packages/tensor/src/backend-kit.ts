// `@mosaicbert/tensor/backend-kit`: what a backend author needs beyond the contract (src/backend.ts) to
// implement it so that every backend behaves alike: each op's argument validation (one file per op family
// in src/validate/, the same OpError messages everywhere), the shape and dtype checks they are built on,
// the counter-based generator dropout masks are drawn from (a kernel must reproduce it bit for bit), and
// the typed arrays host storage uses. The backends themselves are in the main entry.
export * from "./validate/index.js";
export { accumulateArg, dropoutArgs, floatArg, indexArg, outArg } from "./validate/args.js";
export * from "./checks.js";
export { fmtShape } from "./errors.js";
export { seedKey, uniformAt, uniformAtKey } from "./random.js";
export { rawArray, type RawArray, f32ToBf16Bits, bf16BitsToF32, roundBf16, f32ToF16Bits, f16BitsToF32 } from "./dtype.js";
