import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ATTN, ATTN_SLOTS, attnPack } from "./attn-pack.js";

const header = readFileSync(new URL("../native/attn_pack.h", import.meta.url), "utf8");
/** camelCase → ATTN_UPPER_SNAKE, the header's names. */
const cName = (k: string) => `ATTN_${k.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;

describe("attention argument pack: src/attn-pack.ts and native/attn_pack.h agree", () => {
  it("every slot has the same number on both sides, and the slots are 0..ATTN_SLOTS-1 once each", () => {
    const c = new Map([...header.matchAll(/\b(ATTN_[A-Z_]+)\s*=\s*(\d+)/g)].map((m) => [m[1]!, Number(m[2])]));
    for (const [k, slot] of Object.entries(ATTN)) expect([k, c.get(cName(k))]).toEqual([k, slot]);
    expect(c.get("ATTN_SLOTS")).toBe(ATTN_SLOTS);
    expect(c.size).toBe(Object.keys(ATTN).length + 1);
    expect([...Object.values(ATTN)].sort((a, b) => a - b)).toEqual(Array.from({ length: ATTN_SLOTS }, (_, i) => i));
  });

  it("attnPack puts each named value in its slot", () => {
    const p = attnPack({ heads: 12, headDim: 64, scale: 0.125 });
    expect(p.length).toBe(20);
    expect([p[11], p[12], p[14], p[0]]).toEqual([12, 64, 0.125, 0]);
  });
});
