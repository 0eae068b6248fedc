import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { ATTN, ATTN_SLOTS, attnPack } from "./attn-pack.js";
import { MATMUL, MATMUL_SLOTS } from "./matmul-pack.js";
import { ADAMW_ROW, ADAMW_ROW_WIDTH, NORM_ROW, NORM_ROW_WIDTH } from "./optim-pack.js";

// The addon's names and numbers, as TypeScript and native/ spell them, must agree: a slot or an entry
// point renamed on one side only would read the wrong argument (or none) on the GPU, where CI cannot look.

const native = (file: string) => readFileSync(new URL(`../native/${file}`, import.meta.url), "utf8");
/** camelCase → PREFIX_UPPER_SNAKE, the headers' names. */
const cName = (prefix: string, k: string) => `${prefix}_${k.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;

const packs = [
  { name: "attention", header: "attn_pack.h", prefix: "ATTN", slots: ATTN as Record<string, number>, count: ATTN_SLOTS },
  { name: "matmul", header: "matmul_pack.h", prefix: "MATMUL", slots: MATMUL as Record<string, number>, count: MATMUL_SLOTS },
];

describe.each(packs)("the $name argument pack: src/ and native/$header agree", ({ header, prefix, slots, count }) => {
  it("every slot has the same number on both sides, and the slots are 0..SLOTS-1 once each", () => {
    const c = new Map([...native(header).matchAll(new RegExp(`\\b(${prefix}_[A-Z_]+)\\s*=\\s*(\\d+)`, "g"))].map((m) => [m[1]!, Number(m[2])]));
    for (const [k, slot] of Object.entries(slots)) expect([k, c.get(cName(prefix, k))]).toEqual([k, slot]);
    expect(c.get(`${prefix}_SLOTS`)).toBe(count);
    expect(c.size).toBe(Object.keys(slots).length + 1);
    expect([...Object.values(slots)].sort((a, b) => a - b)).toEqual(Array.from({ length: count }, (_, i) => i));
  });

  it("addon.cc reads the pack by these names only, never by a bare number", () => {
    const addon = native("addon.cc");
    expect(addon).toContain(`#include "${header}"`);
    expect(addon).not.toMatch(new RegExp(`f\\[\\d+\\]`));
  });
});

describe("the optimizer's tables: src/optim-pack.ts and what native/optim.cu reads", () => {
  // optim.cu: `const double* e = table + WIDTH * k;` then `c.<field>[j] = … e[slot]` (or through a local `n`).
  const cu = native("optim.cu");
  const rows = [
    { fn: "k_adamw", slots: ADAMW_ROW as Record<string, number>, width: ADAMW_ROW_WIDTH, field: { param: "p", grad: "g", m: "m", v: "v", lowp: "lowp", size: "n", lowpDtype: "lowpDt" } as Record<string, string> },
    { fn: "k_global_norm", slots: NORM_ROW as Record<string, number>, width: NORM_ROW_WIDTH, field: { ptr: "x", size: "n", dtype: "dt" } as Record<string, string> },
  ];
  it.each(rows)("$fn: the row width and each slot", ({ fn, slots, width, field }) => {
    const body = cu.slice(cu.indexOf(`void ${fn}(`), cu.indexOf("\n}\n", cu.indexOf(`void ${fn}(`)));
    expect(body).toContain(`table + ${width} * k`);
    const locals = new Map([...body.matchAll(/\b(\w+) = \([\w ]+\)e\[(\d+)\];/g)].map((m) => [m[1]!, Number(m[2])]));
    const read = new Map<string, number>();
    for (const m of body.matchAll(/c\.(\w+)\[j\] = ([^;]+);/g)) {
      const slot = /e\[(\d+)\]/.exec(m[2]!)?.[1];
      const viaLocal = locals.get(m[2]!.trim());
      if (slot !== undefined) read.set(m[1]!, Number(slot));
      else if (viaLocal !== undefined) read.set(m[1]!, viaLocal);
    }
    for (const [k, slot] of Object.entries(slots)) expect([k, read.get(field[k]!)]).toEqual([k, slot]);
    expect([...Object.values(slots)].sort((a, b) => a - b)).toEqual(Array.from({ length: width }, (_, i) => i));
  });
});

describe("attnPack", () => {
  it("puts each named value in its slot", () => {
    const p = attnPack({ heads: 12, headDim: 64, scale: 0.125 });
    expect(p.length).toBe(ATTN_SLOTS);
    expect([p[ATTN.heads], p[ATTN.headDim], p[ATTN.scale], p[ATTN.dt]]).toEqual([12, 64, 0.125, 0]);
  });
});

describe("the addon's entry points: native/addon.cc and NativeAddon (src/native.ts) name the same ones", () => {
  it("every entry of addon.cc's table is declared in NativeAddon, and every declared one exists", () => {
    const entries = [...native("addon.cc").matchAll(/^\s*\{"(\w+)", \[\]\(Args& a\)/gm)].map((m) => m[1]!);
    const src = readFileSync(new URL("./native.ts", import.meta.url), "utf8");
    const body = src.slice(src.indexOf("export interface NativeAddon {"), src.indexOf("\n}\n", src.indexOf("export interface NativeAddon {")));
    const declared = [...body.matchAll(/^ {2}(\w+)\??\(/gm)].map((m) => m[1]!);
    expect(entries.length).toBeGreaterThan(40);
    expect(new Set(entries).size).toBe(entries.length);
    expect([...declared].sort()).toEqual([...entries].sort());
  });

  it("a binding that is one op of the contract carries the op's name (the kernel's C name is mapped in addon.cc)", () => {
    const entries = new Set([...native("addon.cc").matchAll(/^\s*\{"(\w+)", \[\]/gm)].map((m) => m[1]!));
    for (const op of ["addInPlace", "scaleInPlace", "matmul", "sumRows", "gatherRows", "scatterRows", "gelu", "geglu", "gegluBackward", "crossEntropy", "adamw", "attention", "attentionBackward"]) {
      expect(entries, op).toContain(op);
    }
    for (const old of ["axpy", "scale", "gemm"]) expect(entries, old).not.toContain(old);
  });
});
