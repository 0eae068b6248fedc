import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { Command } from "commander";
import { readSafetensors } from "@mosaicbert/hub";
import { afterAll, describe, expect, it } from "vitest";
import { registerEmbed } from "../cli/embed.js";
import { embeddingsFormat, readTexts, writeEmbeddings } from "./files.js";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "embed-files-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const SST2_DEV = fileURLToPath(new URL("../../../../../shared/data/glue/SST-2/dev.tsv", import.meta.url));
const sst2 = fs.readFileSync(SST2_DEV, "utf8").split("\n");

describe("embed input: nothing to embed is an error whatever the format", () => {
  it("a table with a header and no rows fails naming the file, as an empty text file does", async () => {
    const tsv = path.join(tmp, "header-only.tsv");
    fs.writeFileSync(tsv, `${sst2[0]}\n`);
    const csv = path.join(tmp, "header-only.csv");
    fs.writeFileSync(csv, "id,text\r\n");
    const txt = path.join(tmp, "empty.txt");
    fs.writeFileSync(txt, "");
    await expect(readTexts(txt)).rejects.toThrow(`${txt}: no texts; expected one text per line`);
    await expect(readTexts(tsv, "sentence")).rejects.toThrow(`${tsv}: no texts; expected one row per text in column "sentence" after the header`);
    await expect(readTexts(csv)).rejects.toThrow(`${csv}: no texts; expected one row per text in column "text"`);
    // A table with rows still reads them (the real SST-2 dev file, its first column).
    const full = await readTexts(SST2_DEV, "sentence");
    expect(full).toHaveLength(872);
    expect(full[0]).toBe(sst2[1]!.split("\t")[0]);
  });
});

describe("embed --output: .safetensors or .npy, nothing else", () => {
  it("names the flag and the accepted forms for another extension, and writes nothing", () => {
    expect(embeddingsFormat("e.npy")).toBe("npy");
    expect(embeddingsFormat("E.NPY")).toBe("npy");
    expect(embeddingsFormat("out/e.safetensors")).toBe("safetensors");
    const pt = path.join(tmp, "x.pt");
    const expected = /^--output: .*x\.pt ends in "\.pt"; expected a file ending in \.safetensors \(tensor "embeddings" \[n, hidden\]\) or \.npy \(float32 \[n, hidden\]\)$/;
    expect(() => writeEmbeddings(pt, new Float32Array(4), 2, 2, {})).toThrow(expected);
    expect(fs.existsSync(pt)).toBe(false);
    expect(() => embeddingsFormat(path.join(tmp, "noext"))).toThrow(/--output: .*noext has no extension; expected a file ending in \.safetensors/);
    const st = path.join(tmp, "x.safetensors");
    writeEmbeddings(st, Float32Array.from([1, 2, 3, 4]), 2, 2, { pooling: "mean" });
    expect(readSafetensors(st).get("embeddings")!.shape).toEqual([2, 2]);
  });

  it("the command refuses a bad --output before reading the model or the input", async () => {
    const p = new Command("mosaicbert").exitOverride().configureOutput({ writeErr: () => {} });
    registerEmbed(p, { stderr: { write: () => true } });
    await expect(
      p.parseAsync(["embed", "--model", path.join(tmp, "no-such-model"), "--input", path.join(tmp, "no-such-input.txt"), "--output", path.join(tmp, "e.pt"), "--device", "cpu"], { from: "user" }),
    ).rejects.toThrow(/^--output: .*e\.pt ends in "\.pt"; expected a file ending in \.safetensors/);
  });
});
