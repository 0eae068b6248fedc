import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { KERNELS_FMA_BASE64, KERNELS_SIMD_BASE64, KERNELS_SOURCE_SHA256 } from "./kernels.wasm.js";
import { FastCpuBackend } from "./backend.js";

// The WebAssembly JS API (the package compiles without lib.dom).
const W = (globalThis as unknown as { WebAssembly: { Module: WasmModuleCtor } }).WebAssembly.Module;
interface WasmModuleCtor {
  new (bytes: Uint8Array): object;
  imports(m: object): Array<{ module: string; name: string; kind: string }>;
  exports(m: object): Array<{ name: string }>;
}

const wasmDir = new URL("../../wasm/", import.meta.url);

function clangAvailable(): boolean {
  try {
    execFileSync(process.env.CLANG ?? "clang-19", ["--version"], { stdio: "ignore" });
    return true;
  } catch {
    return false;
  }
}

describe("committed WebAssembly kernels (wasm/kernels.c → src/fast/kernels.wasm.ts)", () => {
  it("were generated from the current kernels.c and build flags", async () => {
    // The same hash build.mjs records: regenerate with `node packages/tensor/wasm/build.mjs`.
    const build = (await import(new URL("build.mjs", wasmDir).href)) as { sourceHash(): string };
    expect(build.sourceHash(), "kernels.c changed: run `node packages/tensor/wasm/build.mjs`").toBe(KERNELS_SOURCE_SHA256);
  });

  it("validate, export the kernels, and import only a shared memory", () => {
    // Creating a backend sets the V8 flags (relaxed SIMD on Node 20) before the FMA build compiles.
    expect(["fma", "simd"]).toContain(new FastCpuBackend({ threads: 1 }).variant);
    for (const b64 of [KERNELS_SIMD_BASE64, KERNELS_FMA_BASE64]) {
      const bytes = Buffer.from(b64, "base64");
      expect(bytes.subarray(0, 4)).toEqual(Buffer.from([0, 0x61, 0x73, 0x6d]));
      const m = new W(bytes);
      expect(W.imports(m)).toEqual([{ module: "env", name: "memory", kind: "memory" }]);
      expect(W.exports(m).map((e) => e.name).sort()).toEqual(["adamw", "attention_bwd", "attention_fwd", "cross_entropy", "geglu_bwd", "geglu_fwd", "gemm", "gemm_work_floats", "sum_rows", "sum_squares"]);
    }
  });

  it.skipIf(!clangAvailable())("match a fresh build byte for byte (clang present)", () => {
    const out = execFileSync("node", [new URL("build.mjs", wasmDir).pathname, "--stdout"]).toString();
    const committed = readFileSync(new URL("./kernels.wasm.ts", import.meta.url), "utf8");
    expect(createHash("sha256").update(out).digest("hex")).toBe(createHash("sha256").update(committed).digest("hex"));
  });
});
