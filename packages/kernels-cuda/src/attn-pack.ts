/**
 * The attention kernel's argument pack, slot by slot (native/attn_pack.h holds the same numbers for
 * addon.cc; packs.test.ts checks that they agree). One Float64Array carries every argument, so an
 * attention call crosses into the addon once.
 */
export const ATTN = {
  dt: 0,
  qkv: 1,
  out: 2,
  lse: 3,
  cuSeqlens: 4,
  positions: 5,
  dtMask: 6,
  keyMask: 7,
  slopes: 8,
  batch: 9,
  tokens: 10,
  heads: 11,
  headDim: 12,
  maxSeqlen: 13,
  scale: 14,
  dropP: 15,
  dropKey: 16,
  dropOffset: 17,
  dtOut: 18,
  dtDout: 19,
} as const;

export const ATTN_SLOTS = 20;

export type AttnSlot = keyof typeof ATTN;

/** A new pack with the given slots set (the rest 0). */
export function attnPack(values: Partial<Record<AttnSlot, number>>): Float64Array {
  const pack = new Float64Array(ATTN_SLOTS);
  for (const [k, v] of Object.entries(values) as Array<[AttnSlot, number]>) pack[ATTN[k]] = v;
  return pack;
}
