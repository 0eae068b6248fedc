import { createModel } from "@mosaicbert/layers";
import { cpu, type Backend } from "@mosaicbert/tensor";
import { afterAll, describe, expect, it } from "vitest";
import { loadRecipe } from "../../config/load.js";
import { SingleProcessCommunicator } from "../../parallel/communicator.js";
import { cleanup, quiet, SMALL, tmp, trainLosses } from "../../testing/pretrain-fixtures.js";
import { modelConfigOf } from "../model-config.js";
import { pretrain } from "../pretrain.js";
import { chooseMicrobatch, divisorsDescending, measureStepMemory, pickMicrobatch } from "./microbatch.js";
import type { Plan, Trainee, World } from "./session.js";

afterAll(cleanup);

describe("device_train_microbatch_size: auto", () => {
  it("picks the largest divisor of the device batch whose pass fits the share of memory, or none", () => {
    expect(divisorsDescending(12)).toEqual([12, 6, 4, 3, 2, 1]);
    const cost = { fixedBytes: 100, perRowBytes: 10 };
    expect(pickMicrobatch(12, cost, 1000, 0.85)).toBe(12); // 220 ≤ 850
    expect(pickMicrobatch(12, cost, 200, 1)).toBe(6); // 160 ≤ 200 < 220
    expect(pickMicrobatch(12, cost, 135, 1)).toBe(3);
    expect(pickMicrobatch(12, cost, 109, 1)).toBeNull();
    expect(pickMicrobatch(12, cost, 220, 1)).toBe(12); // exactly the budget fits
  });

  it("measures a pass as fixed + rows × per-row bytes: the line predicts the real peak at other row counts", () => {
    const { config } = loadRecipe("tiny-cpu", { overrides: SMALL });
    const model = createModel(modelConfigOf(config), "mlm", cpu, { seed: 1 });
    const cost = measureStepMemory(model, 32, 0.3, 4);
    expect(cost.perRowBytes).toBeGreaterThan(10_000);
    for (const rows of [2, 7]) {
      const real = measureStepMemory(model, 32, 0.3, 1).perRowBytes; // one row's whole peak
      const atRows = measureStepMemory(model, 32, 0.3, rows);
      const predicted = cost.fixedBytes + rows * cost.perRowBytes;
      expect(Math.abs(atRows.fixedBytes + rows * atRows.perRowBytes - predicted) / predicted).toBeLessThan(0.02);
      expect(Math.abs(cost.fixedBytes + cost.perRowBytes - real) / real).toBeLessThan(0.02);
    }
    expect((model.flat.grads.toArray() as Float32Array).every((g) => g === 0)).toBe(true);
  });

  it("on a backend with device memory: the largest microbatch that fits, smaller with less memory, an error naming the sizes when none does", async () => {
    const { config } = loadRecipe("tiny-cpu", { overrides: [...SMALL, "device_train_microbatch_size=auto", "global_train_batch_size=8"] });
    const model = createModel(modelConfigOf(config), "mlm", cpu, { seed: 1 });
    const cost = measureStepMemory(model, 32, 0.3, 4);
    const said: string[] = [];
    const run = (freeBytes: number) => {
      // The CPU backend, as a GPU with `freeBytes` free would look to the trainer.
      const gpu = new Proxy(cpu, { get: (t, k) => (k === "deviceMemory" ? () => ({ freeBytes, totalBytes: 2 * freeBytes }) : Reflect.get(t, k, t)) }) as Backend;
      const w = { cfg: config, backend: gpu, comm: new SingleProcessCommunicator(), device: { name: "fake gpu" }, say: (m: string) => said.push(m) } as unknown as World;
      const plan = { D: 8, M: 8, S: 32 } as Plan;
      return chooseMicrobatch(w, { model } as unknown as Trainee, plan);
    };
    const need = (m: number) => (cost.fixedBytes + m * cost.perRowBytes) / 0.85;
    expect(await run(need(8) * 1.02)).toBe(8);
    expect(await run(need(4) * 1.02)).toBe(4);
    expect(await run(need(2) * 1.02)).toBe(2);
    expect(said.at(-1)).toMatch(/^device_train_microbatch_size auto: 2 of 8 \(a pass needs .* GiB \+ .* GiB per row of 32 tokens; .* GiB available, 85% used\)$/);
    await expect(run(need(1) * 0.9)).rejects.toThrow(/device_train_microbatch_size auto: not even one row of 32 tokens fits the GPU \(see the line above\); lower max_seq_len or use a smaller model/);
    expect(said.at(-1)).toMatch(/device_train_microbatch_size auto: one row of 32 tokens needs .* GiB for its training pass, more than 85% of the .* GiB the GPU has free: lower max_seq_len or use a smaller model/);
  });

  it("several processes agree on the smallest microbatch any of them can run, and all stop when one cannot run a row", async () => {
    const { config } = loadRecipe("tiny-cpu", { overrides: [...SMALL, "device_train_microbatch_size=auto", "global_train_batch_size=8"] });
    const model = createModel(modelConfigOf(config), "mlm", cpu, { seed: 1 });
    const cost = measureStepMemory(model, 32, 0.3, 4);
    const need = (m: number) => (cost.fixedBytes + m * cost.perRowBytes) / 0.85;
    /** This rank's GPU has room for 8 rows; the other rank's vote (one slot per candidate 8, 4, 2, 1, then "none") is added by the all-reduce. */
    const run = (other: number[]) => {
      const gpu = new Proxy(cpu, { get: (t, k) => (k === "deviceMemory" ? () => ({ freeBytes: need(8) * 1.02, totalBytes: 1e12 }) : Reflect.get(t, k, t)) }) as Backend;
      const comm = {
        rank: 0, worldSize: 2, kind: "fake",
        allReduce: async (t: { toArray(): unknown }) => {
          const v = t.toArray() as Float32Array;
          const sum = Array.from(v, (x, i) => x + other[i]!);
          gpu.write(t as never, Float32Array.from(sum));
        },
        broadcast: async () => {},
      };
      const w = { cfg: config, backend: gpu, comm, worldSize: 2, device: { name: "fake gpu" }, say: () => {} } as unknown as World;
      return chooseMicrobatch(w, { model } as unknown as Trainee, { D: 8, M: 8, S: 32 } as Plan);
    };
    expect(await run([0, 0, 0, 0, 0])).toBe(8);
    expect(await run([0, 0, 1, 0, 0])).toBe(2);
    await expect(run([0, 0, 0, 0, 1])).rejects.toThrow(/not even one row of 32 tokens fits the GPU of every process/);
  });

  it("on the CPU: the whole device batch, and the same run as asking for it", async () => {
    const lines: string[] = [];
    const stderr = { write: (s: string) => (lines.push(s), true) };
    const auto = tmp();
    await pretrain({ config: "tiny-cpu", overrides: [...SMALL, "device_train_microbatch_size=auto"], maxDuration: "3ba", saveFolder: auto, device: "cpu", handleSignals: false, stderr });
    expect(lines.join("")).toMatch(/device_train_microbatch_size auto: 4 \(the whole device batch: no device memory to fit on cpu/);
    expect(lines.join("")).toMatch(/microbatch 4, 1 per step/);
    const fixed = tmp();
    await pretrain({ config: "tiny-cpu", overrides: [...SMALL, "device_train_microbatch_size=4"], maxDuration: "3ba", saveFolder: fixed, device: "cpu", handleSignals: false, stderr: quiet });
    expect(trainLosses(auto)).toEqual(trainLosses(fixed));
  }, 60_000);

  it("the recipe takes an integer or \"auto\", nothing else", () => {
    expect(loadRecipe("tiny-cpu", { overrides: ["device_train_microbatch_size=auto"] }).config.device_train_microbatch_size).toBe("auto");
    expect(() => loadRecipe("tiny-cpu", { overrides: ["device_train_microbatch_size=big"] })).toThrow(/device_train_microbatch_size: expected an integer or "auto", got string "big"/);
  });
});
