import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { goldenInputs } from "./golden-inputs.js";
import { readIndexFile, MDSReader } from "./reader.js";
import { renderSampleLine } from "./render.js";
import { MDSWriter } from "./writer.js";

const MDS = new URL("../../../../../shared/data/mds/", import.meta.url).pathname;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "mds-writer-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** Write the golden's input samples with the golden's settings; returns our output folder. */
async function rewrite(name: string, compression: string | null): Promise<string> {
  const idx = readIndexFile(`${MDS}${name}/index.json`);
  const first = idx.shards.find((s) => s.samples > 0) ?? idx.shards[0]!;
  const columns = Object.fromEntries(first.column_names.map((n, i) => [n, first.column_encodings[i]!]));
  const out = path.join(tmp, name.replace("/", "_") + (compression ?? ""));
  const w = new MDSWriter({ out, columns, compression, hashes: first.hashes, sizeLimit: first.size_limit });
  for (const s of goldenInputs(fs.readFileSync(`${MDS}${name}/expected.jsonl`, "utf8"), columns)) await w.write(s);
  await w.finish();
  return out;
}

describe("MDSWriter matches the reference byte for byte", () => {
  for (const name of ["tiny", "oversized-first", "basic", "c4-like-tokens/val"]) {
    it(`${name}: index.json and every shard are identical`, async () => {
      const out = await rewrite(name, null);
      expect(fs.readFileSync(path.join(out, "index.json"), "utf8")).toBe(fs.readFileSync(`${MDS}${name}/index.json`, "utf8"));
      for (const s of readIndexFile(`${MDS}${name}/index.json`).shards) {
        expect(Buffer.compare(fs.readFileSync(path.join(out, s.raw_data.basename)), fs.readFileSync(`${MDS}${name}/${s.raw_data.basename}`)), s.raw_data.basename).toBe(0);
      }
    });
  }

  for (const comp of ["zstd", "br", "gz", "snappy"]) {
    it(`${comp}: raw shards identical (sizes and hashes), compressed files read back`, async () => {
      const out = await rewrite(comp, comp);
      const ours = readIndexFile(path.join(out, "index.json"));
      const ref = readIndexFile(`${MDS}${comp}/index.json`);
      expect(ours.shards.map((s) => s.raw_data)).toEqual(ref.shards.map((s) => s.raw_data));
      expect(ours.shards.map((s) => s.zip_data!.basename)).toEqual(ref.shards.map((s) => s.zip_data!.basename));
      if (comp === "br") {
        // Node's brotli and Python's brotli 1.0.9 emit the same stream at quality 11.
        expect(ours.shards.map((s) => s.zip_data)).toEqual(ref.shards.map((s) => s.zip_data));
      }
      const r = new MDSReader(out, { validateHash: "sha1" });
      const expected = fs.readFileSync(`${MDS}${comp}/expected.jsonl`, "utf8").trimEnd().split("\n");
      for (let i = 0; i < r.size; i += 7) expect(renderSampleLine(i, await r.getRaw(i))).toBe(expected[i]);
    });
  }

  it("bz2 writing is refused with an explanation", () => {
    expect(() => new MDSWriter({ out: path.join(tmp, "bz"), columns: { a: "str" }, compression: "bz2" })).toThrow(/bz2 .* read but not written/);
  });

  it("rejects bad input with the column and expected form", async () => {
    const w = new MDSWriter({ out: path.join(tmp, "bad"), columns: { n: "uint8", s: "str" } });
    await expect(w.write({ n: 256, s: "x" })).rejects.toThrow(/column "n" \(uint8\): 256 is out of range/);
    await expect(w.write({ n: 1 })).rejects.toThrow(/no column "s"/);
    expect(() => new MDSWriter({ out: path.join(tmp, "bad2"), columns: { a: "jpeg" } })).toThrow(/image encoding "jpeg" is not supported/);
    expect(() => new MDSWriter({ out: path.join(tmp, "bad3"), columns: { a: "str" }, hashes: ["sha1", "md5"] })).toThrow(/sorted and unique/);
    expect(() => new MDSWriter({ out: path.join(tmp, "bad4"), columns: { a: "str" }, sizeLimit: "12 parsecs" })).toThrow(/sizeLimit: expected bytes like/);
  });
});
