import { Command } from "commander";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import { readSafetensors, writeSafetensors, type TensorInput } from "@mosaicbert/hub";
import { afterAll, describe, expect, it } from "vitest";
import { registerGlue } from "./glue.js";
import { registerInfer } from "./infer.js";

// CLI error cases of issue #18: each ends in an error (exit ≠ 0 through cli.ts) naming the file or field.
const GOLDENS = fileURLToPath(new URL("../../../../../shared/data/golden/", import.meta.url));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "cli-errors-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const sink = () => new Writable({ write(_c, _e, done) { done(); } });

/** A copy of a golden model folder whose f32 weights are all NaN, or only those of tensor `only`. */
function nanModel(name: string, golden: string, only?: string): string {
  const dir = path.join(tmp, name);
  fs.cpSync(path.join(GOLDENS, golden), dir, { recursive: true });
  const file = path.join(dir, "model.safetensors");
  const tensors = new Map<string, TensorInput>();
  for (const [k, e] of readSafetensors(file)) {
    const data = new Uint8Array(e.data); // a copy (Buffer#slice would be a view of the whole file)
    if (e.dtype === "f32" && (!only || k === only)) new Float32Array(data.buffer).fill(NaN);
    tensors.set(k, { dtype: e.dtype as "f32", shape: e.shape, data });
  }
  writeSafetensors(file, tensors);
  return dir;
}

async function infer(args: string[]): Promise<void> {
  const p = new Command("mosaicbert").exitOverride().configureOutput({ writeErr: () => {} });
  registerInfer(p, { stdout: sink(), stderr: sink() });
  await p.parseAsync(["infer", ...args], { from: "user" });
}

describe("CLI errors name the file or field", () => {
  it("infer with all-NaN weights fails instead of printing NaN probabilities, naming a tensor", async () => {
    const mlm = nanModel("nan-mlm", "mosaic-tiny-mlm");
    await expect(infer(["--model", mlm, "--text", "he was the [MASK] one ."])).rejects.toThrow(
      new RegExp(`^infer: ${mlm}: the model's outputs are not finite \\(probability NaN at row 0, position \\d+\\); its weights are not: tensor '[^']+' in model\\.safetensors: \\d+ of \\d+ values are NaN or infinite`),
    );
    const cls = nanModel("nan-cls", "mosaic-tiny-cls3", "classifier.weight");
    await expect(infer(["--model", cls, "--input", path.join(GOLDENS, "mosaic-tiny-cls3", "inputs.json")])).rejects.toThrow(
      /the model's outputs are not finite \(softmax NaN for label \S+ of row 0\); its weights are not: tensor 'classifier\.weight' in model\.safetensors: \d+ of \d+ values/,
    );
  });

  it("glue --data pointing at a folder with no task exits with an error naming the folder", async () => {
    const empty = path.join(tmp, "no-tasks");
    fs.mkdirSync(path.join(empty, "photos"), { recursive: true });
    const p = new Command("mosaicbert").exitOverride().configureOutput({ writeErr: () => {} });
    registerGlue(p, { stdout: { write: () => true }, stderr: { write: () => true, isTTY: false } });
    await expect(
      p.parseAsync(["glue", "--preset", "tiny", "--data", empty, "--tasks", "rte,sst2", "--device", "cpu", "--out", path.join(tmp, "glue-out")], { from: "user" }),
    ).rejects.toThrow(new RegExp(`^glue: no task ran from --data ${empty}: .*sst2: skipped \\(train: missing — no train\\.tsv.*rte: skipped.*Expected one subfolder per task`));
  });
});
