import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { modelFolderTokenizer } from "./model-folder.js";

const VOCAB = fileURLToPath(new URL("../../../../../shared/data/vocab/bert-base-uncased-vocab.txt", import.meta.url));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "model-folder-tok-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe("modelFolderTokenizer", () => {
  it("takes the folder's vocab.txt, else bert-base-uncased, saying which", () => {
    const small = path.join(tmp, "small");
    fs.mkdirSync(small);
    const tokens = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]", "hello", "world"];
    fs.writeFileSync(path.join(small, "vocab.txt"), `${tokens.join("\n")}\n`);
    const own = modelFolderTokenizer(small);
    expect(own.source).toBe(path.join(small, "vocab.txt"));
    expect(own.file).toBe(own.source);
    expect(own.tokenizer.vocabSize).toBe(7);
    expect(own.tokenizer.textToIds("Hello world")).toEqual([5, 6]);

    const bare = path.join(tmp, "bare");
    fs.mkdirSync(bare);
    const shipped = modelFolderTokenizer(bare);
    expect(shipped.file).toBeNull();
    expect(shipped.source).toMatch(/^bert-base-uncased \(shipped; the model folder has no vocab\.txt or tokenizer\.json\)$/);
    expect(shipped.tokenizer.vocabSize).toBe(fs.readFileSync(VOCAB, "utf8").split("\n").filter((l) => l.length > 0).length);
  });
});
