export * from "./dtype.js";
export * from "./errors.js";
export * from "./tensor.js";
export * from "./backend.js";
export * from "./checks.js";
export * from "./validate/index.js";
export * from "./random.js";
export { CpuBackend, cpu } from "./cpu/backend.js";
export * from "./testing.js";
