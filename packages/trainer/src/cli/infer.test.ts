import { Command } from "commander";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { readSafetensors, toFloat32 } from "@mosaicbert/hub";
import { relativeL2 } from "@mosaicbert/tensor";
import { afterAll, describe, expect, it } from "vitest";
import { register } from "./infer.js";

const GOLDEN = fileURLToPath(new URL("../../../../../shared/data/golden/mosaic-tiny-cls3", import.meta.url));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "cli-infer-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const program = () => {
  const p = new Command("mosaicbert").exitOverride().configureOutput({ writeErr: () => {} });
  register(p);
  return p;
};

describe("mosaicbert infer", () => {
  it("writes the classifier's logits for the golden inputs", async () => {
    const out = path.join(tmp, "out.safetensors");
    await program().parseAsync(["infer", "--model", GOLDEN, "--input", `${GOLDEN}/inputs.json`, "--output", out], { from: "user" });
    const got = readSafetensors(out);
    const ref = readSafetensors(`${GOLDEN}/outputs.safetensors`);
    expect(relativeL2(toFloat32(got.get("logits")!), toFloat32(ref.get("logits")!))).toBeLessThan(1e-5);
  });

  it("--device cuda runs on a GPU, or fails with a clear 'unavailable' error", async () => {
    const out = path.join(tmp, "cuda.safetensors");
    const run = program().parseAsync(["infer", "--model", GOLDEN, "--input", `${GOLDEN}/inputs.json`, "--output", out, "--device", "cuda"], { from: "user" });
    const { cudaAvailable } = await import("@mosaicbert/kernels-cuda");
    if (cudaAvailable().backend) {
      await run;
      const ref = readSafetensors(`${GOLDEN}/outputs.safetensors`);
      expect(relativeL2(toFloat32(readSafetensors(out).get("logits")!), toFloat32(ref.get("logits")!))).toBeLessThan(1e-2);
    } else {
      await expect(run).rejects.toThrow(/^CUDA backend unavailable: /);
    }
  });

  it("rejects an unknown device", async () => {
    await expect(program().parseAsync(["infer", "--model", GOLDEN, "--input", "x", "--output", "y", "--device", "tpu"], { from: "user" })).rejects.toThrow(/tpu/);
  });
});
