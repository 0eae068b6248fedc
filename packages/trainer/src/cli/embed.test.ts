import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { Writable } from "node:stream";
import { Command } from "commander";
import { bertBaseUncased } from "@mosaicbert/data-streaming";
import { readSafetensors, toFloat32 } from "@mosaicbert/hub";
import { Embedder, encode } from "@mosaicbert/inference";
import { cpu } from "@mosaicbert/tensor";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pretrain } from "../train/pretrain.js";
import { SMALL, quiet } from "../testing/pretrain-fixtures.js";
import { npyBytes } from "../embed/files.js";
import { registerEmbed } from "./embed.js";
import { registerInfer } from "./infer.js";

const WIKI = fileURLToPath(new URL("../../../../../shared/data/text/wikitext-2-raw/wiki.test.raw", import.meta.url));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "cli-embed-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const devNull = () => new Writable({ write(_c, _e, d) { d(); } });

/** Real lines of WikiText of mixed lengths (a heading, short and long sentences), in file order. */
const wiki = fs.readFileSync(WIKI, "utf8").split("\n").map((l) => l.trim()).filter((l) => l.length > 0);
const texts = [wiki[0]!, ...wiki.slice(1, 40).filter((l) => l.length < 300).slice(0, 4), ...wiki.slice(1, 40).filter((l) => l.length > 500).slice(0, 2), "a short one ."];

async function cli(register: (p: Command) => void, args: string[]): Promise<void> {
  const p = new Command("mosaicbert").exitOverride().configureOutput({ writeErr: () => {} });
  register(p);
  await p.parseAsync(args, { from: "user" });
}
const embedCli = (args: string[]) => cli((p) => registerEmbed(p, { stderr: devNull() }), ["embed", ...args]);

/** last_hidden_state [1, L, H] that `infer --text t --output` writes for one text. */
async function inferHidden(model: string, text: string): Promise<{ rows: Float32Array; L: number; H: number }> {
  const out = path.join(tmp, `h-${Math.random().toString(36).slice(2)}.safetensors`);
  await cli((p) => registerInfer(p, { stdout: devNull(), stderr: devNull() }), ["infer", "--model", model, "--text", text, "--output", out]);
  const t = readSafetensors(out).get("last_hidden_state")!;
  return { rows: toFloat32(t), L: t.shape[1]!, H: t.shape[2]! };
}

function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    num += (a[i]! - b[i]!) ** 2;
    den += b[i]! ** 2;
  }
  return Math.sqrt(num / den);
}

let model: string;
let expectedMean: Float32Array[];
let expectedCls: Float32Array[];
beforeAll(async () => {
  const s = await pretrain({ config: "tiny-cpu", overrides: SMALL, maxDuration: "2ba", saveFolder: path.join(tmp, "run"), device: "cpu", handleSignals: false, stderr: quiet });
  model = s.checkpoint!;
  expectedMean = [];
  expectedCls = [];
  for (const t of texts) {
    const { rows, L, H } = await inferHidden(model, t);
    const mean = new Float32Array(H);
    for (let s = 0; s < L; s++) for (let h = 0; h < H; h++) mean[h] += rows[s * H + h]! / L;
    expectedMean.push(mean);
    expectedCls.push(rows.slice(0, H));
  }
}, 240_000);

describe("mosaicbert embed on a model folder that pretrain wrote", () => {
  it("gives each text the mean of its infer last_hidden_state, in input order, for any token budget (safetensors and .npy)", async () => {
    const input = path.join(tmp, "texts.txt");
    fs.writeFileSync(input, texts.join("\n") + "\n");
    expect(Math.max(...texts.map((t) => bertBaseUncased().textToIds(t).length))).toBeGreaterThan(100);
    for (const budget of ["128", "4096"]) {
      const out = path.join(tmp, `emb-${budget}.safetensors`);
      await embedCli(["--model", model, "--input", input, "--output", out, "--tokens-per-batch", budget, "--device", "cpu"]);
      const f = readSafetensors(out);
      const e = f.get("embeddings")!;
      expect(e.shape).toEqual([texts.length, 64]);
      const m = toFloat32(e);
      texts.forEach((_, i) => expect(relErr(m.subarray(i * 64, (i + 1) * 64), expectedMean[i]!), `text ${i}, budget ${budget}`).toBeLessThan(1e-5));
    }
    const npy = path.join(tmp, "emb.npy");
    await embedCli(["--model", model, "--input", input, "--output", npy, "--tokens-per-batch", "300", "--device", "cpu"]);
    const bytes = fs.readFileSync(npy);
    expect(bytes.subarray(0, 6).toString("latin1")).toBe("\x93NUMPY");
    const hl = bytes.readUInt16LE(8);
    expect(bytes.subarray(10, 10 + hl).toString("latin1")).toMatch(/^\{'descr': '<f4', 'fortran_order': False, 'shape': \(8, 64\), \} *\n$/);
    expect((10 + hl) % 64).toBe(0);
    const m = new Float32Array(bytes.buffer.slice(bytes.byteOffset + 10 + hl, bytes.byteOffset + bytes.length));
    texts.forEach((_, i) => expect(relErr(m.subarray(i * 64, (i + 1) * 64), expectedMean[i]!)).toBeLessThan(1e-5));
  }, 120_000);

  it("--pooling cls gives the [CLS] row; --normalize unit vectors; JSONL input by --text-column", async () => {
    const input = path.join(tmp, "texts.jsonl");
    fs.writeFileSync(input, texts.map((t, i) => JSON.stringify({ id: i, body: t })).join("\n") + "\n");
    const out = path.join(tmp, "cls.safetensors");
    await embedCli(["--model", model, "--input", input, "--text-column", "body", "--output", out, "--pooling", "cls", "--normalize", "--tokens-per-batch", "200", "--device", "cpu"]);
    const m = toFloat32(readSafetensors(out).get("embeddings")!);
    texts.forEach((_, i) => {
      const row = m.subarray(i * 64, (i + 1) * 64);
      const norm = Math.hypot(...expectedCls[i]!);
      expect(Math.hypot(...row)).toBeCloseTo(1, 5);
      expect(relErr(row, expectedCls[i]!.map((x) => x / norm))).toBeLessThan(1e-5);
    });
    fs.writeFileSync(path.join(tmp, "bad.jsonl"), '{"body": "fine"}\n{"text": "wrong column"}\n');
    await expect(embedCli(["--model", model, "--input", path.join(tmp, "bad.jsonl"), "--text-column", "body", "--output", out, "--device", "cpu"])).rejects.toThrow(
      /bad\.jsonl:2: has no column "body"/,
    );
  }, 120_000);

  it("tables: a .csv column (quoted commas and quotes) and a pyarrow .parquet column give the same rows as a text file", async () => {
    const csv = path.join(tmp, "texts.csv");
    fs.writeFileSync(csv, "id,body\n" + texts.map((t, i) => `${i},"${t.replaceAll('"', '""')}"`).join("\n") + "\n");
    const out = path.join(tmp, "csv.safetensors");
    await embedCli(["--model", model, "--input", csv, "--text-column", "body", "--output", out, "--tokens-per-batch", "300", "--device", "cpu"]);
    const m = toFloat32(readSafetensors(out).get("embeddings")!);
    texts.forEach((_, i) => expect(relErr(m.subarray(i * 64, (i + 1) * 64), expectedMean[i]!)).toBeLessThan(1e-5));
    // SST-2's first 48 dev sentences, written by pyarrow with zstd (data-streaming's fixtures), against the same sentences one a line.
    const parquet = fileURLToPath(new URL("../../../data-streaming/src/parquet/fixtures/parquet/sst2-zstd.parquet", import.meta.url));
    const sst2 = fs.readFileSync(fileURLToPath(new URL("../../../../../shared/data/glue/SST-2/dev.tsv", import.meta.url)), "utf8").split("\n").slice(1, 49).map((l) => l.split("\t")[0]!);
    const txt = path.join(tmp, "sst2.txt");
    fs.writeFileSync(txt, sst2.join("\n") + "\n");
    const [a, b] = [path.join(tmp, "p.npy"), path.join(tmp, "t.npy")];
    await embedCli(["--model", model, "--input", parquet, "--text-column", "sentence", "--output", a, "--device", "cpu"]);
    await embedCli(["--model", model, "--input", txt, "--output", b, "--device", "cpu"]);
    expect(fs.readFileSync(a).length).toBe(128 + 48 * 64 * 4);
    expect(fs.readFileSync(a).equals(fs.readFileSync(b))).toBe(true);
    await expect(embedCli(["--model", model, "--input", parquet, "--output", a, "--device", "cpu"])).rejects.toThrow(/sst2-zstd\.parquet: no column "text" \(columns: sentence, label\)/);
  }, 120_000);

  it("encode(): rows or one matrix, the same numbers; one-shot from a folder", () => {
    const e = Embedder.load(model, { backend: cpu, tokenizer: bertBaseUncased() });
    try {
      const rows = e.encode(texts, { tokenBudget: 256 });
      const matrix = e.encode(texts, { format: "matrix", tokenBudget: 1 << 20 });
      expect(rows).toHaveLength(texts.length);
      rows.forEach((r, i) => {
        expect(relErr(r, expectedMean[i]!)).toBeLessThan(1e-5);
        expect(relErr(matrix.subarray(i * 64, (i + 1) * 64), r)).toBeLessThan(1e-6);
      });
      expect(() => e.encode(texts, { maxSeqLen: 9000 })).toThrow(/maxSeqLen: expected an integer in \[2, 8192\]/);
    } finally {
      e.dispose();
    }
    const once = encode(texts.slice(0, 2), { model, backend: cpu, tokenizer: bertBaseUncased(), pooling: "cls" }) as Float32Array[];
    expect(relErr(once[1]!, expectedCls[1]!)).toBeLessThan(1e-5);
  });

  it("npyBytes writes a 64-byte aligned v1.0 header", () => {
    const b = npyBytes(new Float32Array([1, 2, 3, 4, 5, 6]), 2, 3);
    expect(b.length).toBe(128 + 24);
    expect(new DataView(b.buffer).getUint16(8, true)).toBe(128 - 10);
    expect(new Float32Array(b.buffer.slice(128))).toEqual(new Float32Array([1, 2, 3, 4, 5, 6]));
  });
});
