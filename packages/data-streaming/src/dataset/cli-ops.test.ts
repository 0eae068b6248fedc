import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { MDSReader } from "../mds/reader.js";
import { bertBaseUncased, bertBaseUncasedVocabPath } from "../tokenizer/index.js";
import { convertToMds } from "./cli-ops.js";

const wikiFile = fileURLToPath(new URL("../../../../../shared/data/text/wikitext-2-raw/wiki.test.raw", import.meta.url));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "convert-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe("convertToMds --concat-tokens", () => {
  it("takes a document longer than a call's argument limit (WikiText-2 test as one line, ~300k ids)", async () => {
    // One .txt line = one document: the whole WikiText-2 raw test split, newlines turned into spaces.
    const text = fs.readFileSync(wikiFile, "utf8").replace(/\s+/g, " ").trim();
    const input = path.join(tmp, "one-line.txt");
    fs.writeFileSync(input, text + "\n");
    const out = path.join(tmp, "tok");
    const n = await convertToMds({ inputs: [input], out, concatTokens: 128, vocab: bertBaseUncasedVocabPath() });

    const tok = bertBaseUncased();
    const ids = [tok.clsId, ...tok.textToIds(text).slice(0, 128 * 3), tok.sepId];
    expect(n).toBe(Math.floor((tok.textToIds(text).length + 2) / 128));
    expect(n).toBeGreaterThan(1000);
    const r = new MDSReader(out);
    expect(r.size).toBe(n);
    // The first samples are the document's ids in order, [CLS] first, cut every 128.
    for (let s = 0; s < 3; s++) {
      const b = (await r.get(s)).tokens as Uint8Array;
      const got = Array.from(new BigInt64Array(b.buffer, b.byteOffset, 128), Number);
      expect(got).toEqual(ids.slice(s * 128, (s + 1) * 128));
    }
  });
});
