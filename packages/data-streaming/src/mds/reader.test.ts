import fs from "node:fs";
import { describe, expect, it } from "vitest";
import { MDSReader } from "./reader.js";
import { renderSampleLine } from "./render.js";

const MDS = new URL("../../../../../shared/data/mds/", import.meta.url).pathname;

const DATASETS = [
  "tiny", "oversized-first", "basic", "zstd", "br", "gz", "bz2", "snappy",
  "c4-like/train", "c4-like/val", "c4-like-tokens/train", "c4-like-tokens/val",
];

describe("MDSReader on the reference goldens", () => {
  for (const name of DATASETS) {
    it(`${name}: every sample renders exactly as expected.jsonl`, async () => {
      const r = new MDSReader(MDS + name);
      const expected = fs.readFileSync(`${MDS}${name}/expected.jsonl`, "utf8").trimEnd().split("\n");
      expect(r.size).toBe(expected.length);
      for (let i = 0; i < r.size; i++) {
        expect(renderSampleLine(i, await r.getRaw(i)), `${name} sample ${i}`).toBe(expected[i]);
      }
    });
  }

  it("decodes values to JS types (tiny, basic)", async () => {
    const tiny = new MDSReader(MDS + "tiny");
    const s2 = await tiny.get(2);
    expect(s2.id).toBe(-2n);
    expect(s2.name).toBe("\u00e9");
    expect(s2.arr).toEqual({ dtype: "uint8", shape: [2], data: new Uint8Array([0xff, 0]) });
    const basic = new MDSReader(MDS + "basic", { validateHash: "sha256" });
    const s0 = await basic.get(0);
    expect(s0.c_int64).toBe(-(2n ** 63n));
    expect(s0.c_int8).toBe(-128);
    expect(s0.c_pkl).toBe(null);
    expect(Object.is(s0.c_float16, 0)).toBe(true);
    const s1 = await basic.get(1);
    expect(s1.c_json).toEqual({ k0: null });
    expect(s1.c_pkl).toBe(-422801611746724);
  });

  it("verifies every hash algorithm the goldens use", async () => {
    for (const algo of ["md5", "sha1", "sha256", "xxh128", "xxh32", "xxh3_64", "xxh64"]) {
      const r = new MDSReader(MDS + "basic", { validateHash: algo });
      expect((await r.get(499)).id).toBe(499n);
    }
  });

  it("images: image columns are refused with a clear error, raw bytes stay readable", async () => {
    const r = new MDSReader(MDS + "images");
    await expect(r.get(0)).rejects.toThrow(/image encoding "jpeg" is not supported/);
    const raw = await r.getRaw(0);
    const exp = JSON.parse(fs.readFileSync(`${MDS}images/expected.jsonl`, "utf8").split("\n")[0]!);
    const c = raw.entry.column_names.indexOf("img_png");
    expect(Buffer.from(raw.columns[c]!).toString("base64")).toBe(exp.sample.img_png.encoded);
  });
});
