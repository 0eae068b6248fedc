import type { DType } from "@mosaicbert/tensor";

/** Every dtype name a safetensors header may carry, in the Rust crate's declaration order. */
export const SAFETENSORS_DTYPES = [
  "BOOL", "U8", "I8", "F8_E5M2", "F8_E4M3", "I16", "U16", "F16", "BF16", "I32", "U32", "F32", "F64", "I64", "U64",
] as const;
export type SafetensorsDTypeName = (typeof SAFETENSORS_DTYPES)[number];

/** Safetensors dtypes with no counterpart in @mosaicbert/tensor keep their safetensors name. */
export type OtherDType = "I8" | "F8_E5M2" | "F8_E4M3" | "I16" | "U16" | "U32" | "F64" | "U64";
/** The dtype of a stored tensor: a tensor-package dtype when one matches, else the safetensors name. */
export type StoredDType = DType | OtherDType;

const TO_STORED: Record<SafetensorsDTypeName, StoredDType> = {
  BOOL: "bool", U8: "u8", I8: "I8", F8_E5M2: "F8_E5M2", F8_E4M3: "F8_E4M3", I16: "I16", U16: "U16",
  F16: "f16", BF16: "bf16", I32: "i32", U32: "U32", F32: "f32", F64: "F64", I64: "i64", U64: "U64",
};
const TO_NAME = new Map<string, SafetensorsDTypeName>(
  Object.entries(TO_STORED).map(([name, stored]) => [stored, name as SafetensorsDTypeName]),
);
const ITEMSIZE: Record<SafetensorsDTypeName, number> = {
  BOOL: 1, U8: 1, I8: 1, F8_E5M2: 1, F8_E4M3: 1, I16: 2, U16: 2, F16: 2, BF16: 2, I32: 4, U32: 4, F32: 4, F64: 8, I64: 8, U64: 8,
};

export function isSafetensorsDTypeName(s: unknown): s is SafetensorsDTypeName {
  return typeof s === "string" && Object.hasOwn(ITEMSIZE, s);
}

export function storedDType(name: SafetensorsDTypeName): StoredDType {
  return TO_STORED[name];
}

/** The header name of a stored dtype, or undefined when it is not one. */
export function safetensorsName(dtype: string): SafetensorsDTypeName | undefined {
  return TO_NAME.get(dtype);
}

export function storedItemsize(dtype: StoredDType): number {
  const name = TO_NAME.get(dtype);
  if (name === undefined) throw new TypeError(`unknown dtype '${String(dtype)}': expected one of ${[...TO_NAME.keys()].join(", ")}`);
  return ITEMSIZE[name];
}

export function nameItemsize(name: SafetensorsDTypeName): number {
  return ITEMSIZE[name];
}

/** Rank used to order tensors in a written file like the reference writer (larger dtypes first). */
export function dtypeRank(name: SafetensorsDTypeName): number {
  return SAFETENSORS_DTYPES.indexOf(name);
}
