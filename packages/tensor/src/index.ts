// The public entry: what a user of tensors and backends needs. Backend authors' tools (argument
// validation, shape checks, the dropout counter RNG, raw storage) are in `@mosaicbert/tensor/backend-kit`
// (src/backend-kit.ts); test helpers and the conformance suite in `@mosaicbert/tensor/testing` (src/testing.ts).
export {
  DTYPES, type DType, itemsize, isFloat, isInt,
  encodeBf16, decodeBf16, encodeF16, decodeF16,
} from "./dtype.js";
export { OpError } from "./errors.js";
export { Tensor } from "./tensor.js";
export type * from "./backend.js";
export type { Communicator, CollectiveGroup } from "./collectives.js";
export { Rng, mix32 } from "./random.js";
export { CpuBackend, cpu } from "./cpu/backend.js";
export { FastCpuBackend, defaultCpuBackend, fastCpu } from "./fast/backend.js";
