import { Command } from "commander";
import { cudaAvailable } from "@mosaicbert/kernels-cuda";
import { describe, expect, it } from "vitest";
import { register } from "./bench.js";

const program = () => {
  const p = new Command("mosaicbert").exitOverride().configureOutput({ writeErr: () => {} });
  register(p);
  return p;
};

describe("mosaicbert bench", () => {
  it("rejects a bad --steps / --mlm with the option named", async () => {
    await expect(program().parseAsync(["bench", "--steps", "0"], { from: "user" })).rejects.toThrow(/--steps: expected a positive integer, got 0/);
    await expect(program().parseAsync(["bench", "--mlm", "1.5"], { from: "user" })).rejects.toThrow(/--mlm: expected a rate in \(0, 1\), got 1.5/);
  });

  it.skipIf(cudaAvailable().backend !== undefined)("fails with a clear 'unavailable' error where CUDA cannot run", async () => {
    await expect(program().parseAsync(["bench", "--steps", "1", "--warmup", "0"], { from: "user" })).rejects.toThrow(/^CUDA backend unavailable: /);
  });
});
