/**
 * Per-op argument validation, one file per op family (mirroring cpu/). Every backend calls these
 * before doing any work, so each op rejects bad input with the same OpError wherever it runs, and
 * gets back the sizes it needs.
 */
export type { DropoutPlan, ReadIndices } from "./args.js";
export * from "./memory.js";
export * from "./embedding.js";
export * from "./matmul.js";
export * from "./elementwise.js";
export * from "./layernorm.js";
export * from "./rows.js";
export * from "./attention.js";
export * from "./loss.js";
export * from "./optim.js";
