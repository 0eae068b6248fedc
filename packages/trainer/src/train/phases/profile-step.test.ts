import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { runChild } from "../../testing/child.js";
import { cleanup, SMALL, tmp } from "../../testing/pretrain-fixtures.js";
import { profileStepFromEnv } from "./profile-step.js";

afterAll(cleanup);
// The CUDA addon's stand-in: every call returns at once; its events read a clock each other call advances by 1 ms.
const STAND_IN = fileURLToPath(new URL("../../../bench/stand-in-addon.cjs", import.meta.url));

describe("MOSAICBERT_PROFILE_STEP", () => {
  it("takes a step number ≥ 1 and refuses anything else, naming the variable", () => {
    expect(profileStepFromEnv({})).toBeNull();
    expect(profileStepFromEnv({ MOSAICBERT_PROFILE_STEP: "" })).toBeNull();
    expect(profileStepFromEnv({ MOSAICBERT_PROFILE_STEP: "1" })).toBe(1);
    expect(profileStepFromEnv({ MOSAICBERT_PROFILE_STEP: "1500" })).toBe(1500);
    for (const bad of ["0", "-3", "2.5", "1e3", "two", " 4", "99999999999"]) {
      expect(() => profileStepFromEnv({ MOSAICBERT_PROFILE_STEP: bad })).toThrow(/MOSAICBERT_PROFILE_STEP: expected the number of the training step/);
    }
  });

  it("profiles that step of a real run on the CUDA backend: one metrics row whose phases add up to its device time", async () => {
    const save = tmp();
    const opts = { config: "tiny-cpu", overrides: SMALL, maxDuration: "4ba", device: "cuda", saveFolder: save };
    const r = await runChild("testing/run-pretrain.ts", [JSON.stringify(opts)], { MOSAICBERT_CUDA_ADDON: STAND_IN, MOSAICBERT_PROFILE_STEP: "3", MOSAICBERT_DATA_WORKERS: "1" }, 60_000);
    expect(r.err).not.toMatch(/Error/);
    expect(r.code).toBe(0);
    const rows = readFileSync(join(save, "metrics.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
    // The run itself is whole: four train rows, steps 1–4.
    expect(rows.filter((x) => x.type === "train").map((x) => x.step)).toEqual([1, 2, 3, 4]);
    const prof = rows.filter((x) => x.type === "profile");
    expect(prof).toHaveLength(1);
    const p = prof[0];
    expect(p.step).toBe(3);
    // Written right after step 3 was launched, before its train row (read one launch later).
    expect(rows.indexOf(p)).toBeLessThan(rows.findIndex((x) => x.type === "train" && x.step === 3));
    // The stand-in's clock: 1 ms per native call, so every timed op took ≥ 1 ms and the phases (with the
    // device's idle "host gaps") add up to the region's total.
    const phaseSum = Object.values(p.phases as Record<string, number>).reduce((a, b) => a + b, 0);
    expect(phaseSum).toBeCloseTo(p.total_ms, 6);
    for (const k of ["gemm", "attention", "layernorm", "optimizer", "loss"]) expect(p.phases[k]).toBeGreaterThan(0);
    // The step's GEMMs: forward and backward of every linear (tiny-cpu: 2 layers × 4 linears + the MLM head).
    expect(p.calls.matmul).toBeGreaterThanOrEqual(3 * (2 * 4 + 2));
    expect(p.gemms.reduce((a: number, g: { calls: number }) => a + g.calls, 0)).toBe(p.calls.matmul);
    expect(p.ops.adamw).toBeGreaterThan(0);
    expect(p.ops.globalNorm).toBeGreaterThan(0); // the gradient norm metrics.jsonl reports, clipping or not
    // Printed too.
    expect(r.err + r.out).toMatch(/profile of step 3: [\d.]+ ms on the device — /);
  }, 70_000);

  it("is ignored on the CPU, with a line that says so", async () => {
    const save = tmp();
    const opts = { config: "tiny-cpu", overrides: SMALL, maxDuration: "2ba", device: "cpu", saveFolder: save };
    const r = await runChild("testing/run-pretrain.ts", [JSON.stringify(opts)], { MOSAICBERT_PROFILE_STEP: "1", MOSAICBERT_DATA_WORKERS: "1" }, 60_000);
    expect(r.code).toBe(0);
    expect(r.err + r.out).toMatch(/MOSAICBERT_PROFILE_STEP: ignored on the CPU/);
    const rows = readFileSync(join(save, "metrics.jsonl"), "utf8").trim().split("\n").map((l) => JSON.parse(l));
    expect(rows.some((x) => x.type === "profile")).toBe(false);
  }, 70_000);
});
