import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { loadModelFolder, saveModelFolder } from "@mosaicbert/hub";
import { afterAll, describe, expect, it } from "vitest";
import { loadStartingModel } from "./starting-model.js";

const GOLDEN = fileURLToPath(new URL("../../../../shared/data/golden", import.meta.url));
const VOCAB = fileURLToPath(new URL("../../../../shared/data/vocab/bert-base-uncased-vocab.txt", import.meta.url));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "glue-start-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

/** A golden folder copied with `config` (default: its own) and a vocab.txt cut to the tiny models' 2048 ids. */
function copyOf(name: string, edit: (c: Record<string, unknown>) => void = () => {}): string {
  const src = loadModelFolder(path.join(GOLDEN, name));
  const config = { ...(src.config as Record<string, unknown>) };
  edit(config);
  const dir = path.join(tmp, `${name}-${fs.readdirSync(tmp).length}`);
  saveModelFolder(dir, { config, tensors: src.tensors, modelCard: false });
  const lines = fs.readFileSync(VOCAB, "utf8").split("\n").slice(0, config.vocab_size as number);
  fs.writeFileSync(path.join(dir, "vocab.txt"), `${lines.join("\n")}\n`);
  return dir;
}

describe("loadStartingModel", () => {
  it("tells a MosaicBERT folder by its weights when its config lacks alibi_starting_size (configs before Feb 2023)", () => {
    const start = loadStartingModel(copyOf("mosaic-tiny-mlm", (c) => delete c.alibi_starting_size));
    expect(start.config.arch).toBe("mosaic-bert");
    expect(start.config.alibiStartingSize).toBe(512);
    expect(start.warnings.join("\n")).toMatch(/alibi_starting_size/);
    expect(start.weights!.has("bert.encoder.layer.0.attention.self.Wqkv.weight")).toBe(true);
    // The same weights with the config untouched: MosaicBERT without a warning about it.
    const plain = loadStartingModel(copyOf("mosaic-tiny-mlm"));
    expect(plain.config.arch).toBe("mosaic-bert");
    expect(plain.warnings.join("\n")).not.toMatch(/alibi_starting_size/);
    // A BERT folder stays BERT.
    expect(loadStartingModel(copyOf("bert-tiny-mlm")).config.arch).toBe("bert");
  });
});
