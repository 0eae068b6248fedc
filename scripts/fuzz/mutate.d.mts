import type { Arbitrary } from "fast-check";

export type ByteOp = { k: string; at: number; [extra: string]: unknown };
export interface Plan<Op = ByteOp> {
  base: number;
  ops: Op[];
}
export function bytePlan(seedCount: number): Arbitrary<Plan>;
export function applyBytes(base: Uint8Array, ops: ByteOp[]): Uint8Array;
export function jsonPlan(seedCount: number): Arbitrary<Plan>;
export function applyJson(doc: unknown, ops: ByteOp[]): unknown;
export function textPlan(seedCount: number): Arbitrary<Plan>;
/** Returns UTF-8 bytes (possibly invalid UTF-8 after byte flips). */
export function applyText(text: string, ops: ByteOp[]): Uint8Array;
export function describePlan(plan: unknown): string;
