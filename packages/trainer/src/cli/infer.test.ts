import { Command } from "commander";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { Writable } from "node:stream";
import { BertTokenizer, bertBaseUncased } from "@mosaicbert/data-streaming";
import { readSafetensors, toFloat32 } from "@mosaicbert/hub";
import { NO_MASK_NOTE, fillMask } from "@mosaicbert/inference";
import { type ForMaskedLM, loadPretrained } from "@mosaicbert/layers";
import { cpu, defaultCpuBackend } from "@mosaicbert/tensor";
import { relativeL2 } from "@mosaicbert/tensor/testing";
import { afterAll, describe, expect, it } from "vitest";
import { register, registerInfer } from "./infer.js";

const GOLDENS = fileURLToPath(new URL("../../../../../shared/data/golden/", import.meta.url));
const GOLDEN = `${GOLDENS}mosaic-tiny-cls3`;
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

  it("--precision bf16 computes in bf16: the golden logits within bf16 rounding, not bit-equal to f32", async () => {
    const out = path.join(tmp, "bf16.safetensors");
    await program().parseAsync(["infer", "--model", GOLDEN, "--input", `${GOLDEN}/inputs.json`, "--output", out, "--precision", "bf16"], { from: "user" });
    const got = toFloat32(readSafetensors(out).get("logits")!);
    const ref = toFloat32(readSafetensors(`${GOLDENS}mosaic-tiny-cls3/outputs.safetensors`).get("logits")!);
    const err = relativeL2(got, ref);
    expect(err).toBeLessThan(2e-2);
    expect(err).toBeGreaterThan(1e-6);
    await expect(program().parseAsync(["infer", "--model", GOLDEN, "--input", "x", "--precision", "f16"], { from: "user" })).rejects.toThrow(/f16/);
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

/** Runs `mosaicbert infer …` and returns what it printed on stdout, line by line. */
async function infer(args: string[]): Promise<string[]> {
  let out = "";
  const sink = (write: (s: string) => void) => new Writable({ write(chunk, _enc, done) { write(String(chunk)); done(); } });
  const p = new Command("mosaicbert").exitOverride().configureOutput({ writeErr: () => {} });
  registerInfer(p, { stdout: sink((s) => (out += s)), stderr: sink(() => {}) });
  await p.parseAsync(["infer", ...args], { from: "user" });
  return out.split("\n").filter((l) => l.length > 0);
}

/**
 * The expected fill-mask, computed apart from the code under test: each text encoded alone by the
 * tokenizer's own encode ([CLS] … [SEP], no padding), one forward of the model, softmax over the whole
 * row in float64 and a full sort.
 */
function expectedTopK(modelDir: string, text: string, k: number): Array<{ position: number; top: Array<{ token: string; prob: number }> }> {
  const tok = bertBaseUncased();
  const ids = tok.encode(text).inputIds;
  const { model } = loadPretrained(modelDir, cpu);
  try {
    const out = (model as ForMaskedLM).forward({ inputIds: Int32Array.from(ids), batchSize: 1, seqLen: ids.length }, {});
    const logits = cpu.read(out.logits!) as Float32Array;
    const V = model.config.vocabSize;
    return ids.flatMap((id, s) => {
      if (id !== tok.maskId) return [];
      const row = Array.from(logits.subarray(s * V, (s + 1) * V), Number);
      const max = Math.max(...row);
      const sum = row.reduce((a, x) => a + Math.exp(x - max), 0);
      const top = row.map((x, i) => ({ i, p: Math.exp(x - max) / sum })).sort((a, b) => b.p - a.p || a.i - b.i).slice(0, k);
      return [{ position: s, top: top.map(({ i, p }) => ({ token: tok.idToToken(i) ?? `[id ${i}]`, prob: p })) }];
    });
  } finally {
    model.dispose();
  }
}

describe("mosaicbert infer --text (fill-mask)", () => {
  // Words with bert-base-uncased ids below 2042, the golden models' vocab size.
  const long = "he was the first [MASK] of his , and she was [MASK] by him .";
  const short = "it is [MASK] .";

  for (const name of ["mosaic-tiny-mlm", "bert-tiny-mlm"]) {
    it(`${name}: printed top-k equals the model's own softmax top-k at each [MASK], rows padded to the longest`, async () => {
      const model = `${GOLDENS}${name}`;
      const lines = await infer(["--model", model, "--text", long, "--text", short, "--top-k", "4", "--json"]);
      const got = lines.map((l) => JSON.parse(l) as { row: number; text: string; position: number; top: Array<{ token: string; id: number; prob: number }> });
      const want = [long, short].flatMap((t, row) => expectedTopK(model, t, 4).map((m) => ({ row, text: t, ...m })));
      expect(want).toHaveLength(3);
      expect(got.map((g) => [g.row, g.text, g.position])).toEqual(want.map((w) => [w.row, w.text, w.position]));
      for (let i = 0; i < want.length; i++) {
        expect(got[i]!.top.map((t) => t.token)).toEqual(want[i]!.top.map((t) => t.token));
        for (let j = 0; j < 4; j++) expect(got[i]!.top[j]!.prob).toBeCloseTo(want[i]!.top[j]!.prob, 5);
        const probs = got[i]!.top.map((t) => t.prob);
        expect(probs.reduce((a, p) => a + p, 0)).toBeLessThanOrEqual(1);
        expect([...probs].sort((a, b) => b - a)).toEqual(probs);
      }
      // The library call gives the same, from an already loaded model on the backend the CLI uses.
      const { model: loaded } = loadPretrained(model, defaultCpuBackend());
      try {
        const lib = fillMask(loaded as ForMaskedLM, [long, short], bertBaseUncased(), 4);
        expect(lib.masks.map((m) => [m.row, m.position, ...m.top.map((t) => t.prob)])).toEqual(got.map((g) => [g.row, g.position, ...g.top.map((t) => t.prob)]));
      } finally {
        loaded.dispose();
      }
      // Text mode: the same predictions, one line per [MASK], probabilities to 3 significant digits.
      const text = await infer(["--model", model, "--text", short, "--top-k", "2"]);
      const w = want[2]!;
      expect(text).toEqual([`row 0 "${short}", position ${w.position}: ${w.top.slice(0, 2).map((t) => `${t.token} ${t.prob.toPrecision(3)}`).join(" | ")}`]);
    });
  }

  it("[MASK] in the text is one token, id 103, at its place (also glued to a word)", () => {
    const tok = bertBaseUncased();
    expect(tok.maskId).toBe(103);
    const ids = tok.textToIds("he was the first [MASK] of his");
    expect(ids).toEqual([2002, 2001, 1996, 2034, 103, 1997, 2010]);
    expect(tok.textToIds("is[MASK].")).toEqual([2003, 103, 1012]);
    // Whatever the case around it, the literal special token is matched before lowercasing.
    expect(tok.textToIds("The [MASK] Of")).toEqual([1996, 103, 1997]);
  });

  it("a text without [MASK] prints a note; the other rows still get predictions", async () => {
    const lines = await infer(["--model", `${GOLDENS}mosaic-tiny-mlm`, "--text", "he was the first one .", "--text", short]);
    expect(lines[0]).toBe(`row 0 "he was the first one .": ${NO_MASK_NOTE}`);
    expect(lines[1]).toMatch(/^row 1 "it is \[MASK\] \.", position 3: (\S+ [\d.e-]+ \| ){4}\S+ [\d.e-]+$/);
  });

  it("needs exactly one of --text and --input", async () => {
    const model = `${GOLDENS}mosaic-tiny-mlm`;
    await expect(infer(["--model", model])).rejects.toThrow(/exactly one of --input <file> .* or --text <sentence> \(repeatable\), got neither/);
    await expect(infer(["--model", model, "--text", short, "--input", `${model}/inputs.json`])).rejects.toThrow(/got both/);
    await expect(infer(["--model", model, "--text", short, "--top-k", "0"])).rejects.toThrow(/expected a positive integer, got "0"/);
  });

  it("a word outside the model's vocab is named, with the vocab_size, before the model loads", async () => {
    await expect(infer(["--model", `${GOLDENS}mosaic-tiny-mlm`, "--text", "the capital of france is [MASK] ."])).rejects.toThrow(
      /--text \(row 0\): "the capital of france is \[MASK\] \.": token 'capital' \(position 2\) has id 3007, outside the model's vocab_size 2048/,
    );
  });

  it("uses the model folder's own vocab.txt when it has one; --output still writes the tensors", async () => {
    // The golden weights beside the first 2048 entries of the real vocab: 'capital' (3007) is not in it.
    const dir = path.join(tmp, "own-vocab");
    fs.mkdirSync(dir);
    for (const f of ["config.json", "model.safetensors"]) fs.symlinkSync(`${GOLDENS}mosaic-tiny-mlm/${f}`, path.join(dir, f));
    const vocab = fs.readFileSync(fileURLToPath(new URL("../../../../../shared/data/vocab/bert-base-uncased-vocab.txt", import.meta.url)), "utf8").split("\n").slice(0, 2048);
    fs.writeFileSync(path.join(dir, "vocab.txt"), `${vocab.join("\n")}\n`);
    const out = path.join(tmp, "own-vocab.safetensors");
    const lines = await infer(["--model", dir, "--text", "the capital is [MASK] .", "--output", out, "--top-k", "1"]);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatch(/^row 0 "the capital is \[MASK\] \.", position 4: \S+ [\d.e-]+$/);
    const got = readSafetensors(out);
    // [CLS] the [UNK] is [MASK] . [SEP]
    expect(got.get("logits")!.shape).toEqual([1, 7, 2048]);
    expect(got.get("last_hidden_state")!.shape).toEqual([1, 7, 128]);
    expect(BertTokenizer.fromFile(path.join(dir, "vocab.txt")).textToIds("the capital is [MASK] .")).toEqual([1996, 100, 2003, 103, 1012]);
  });

  it("a classifier prints its class probabilities per text", async () => {
    const lines = await infer(["--model", GOLDEN, "--text", "he was the first one .", "--text", "it is new .", "--json"]);
    const rows = lines.map((l) => JSON.parse(l) as { row: number; text: string; probs: Record<string, number> });
    expect(rows.map((r) => r.row)).toEqual([0, 1]);
    for (const r of rows) {
      expect(Object.keys(r.probs)).toEqual(["LABEL_0", "LABEL_1", "LABEL_2"]);
      expect(Object.values(r.probs).reduce((a, p) => a + p, 0)).toBeCloseTo(1, 12);
    }
  });
});
