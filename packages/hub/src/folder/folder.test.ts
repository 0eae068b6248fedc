import { afterAll, describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { loadModelFolder, modelFolderShapes, readCheckpoint, renderModelCard, saveModelFolder } from "../index.js";

const golden = (p: string) => new URL(`../../../../../shared/data/golden/${p}`, import.meta.url).pathname;
const root = fs.mkdtempSync(path.join(os.tmpdir(), "hub-folder-"));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

function sameTensors(a: Map<string, { dtype: string; shape: number[]; data: Uint8Array }>, b: typeof a): void {
  expect([...a.keys()].sort()).toEqual([...b.keys()].sort());
  for (const [k, e] of a) {
    expect(b.get(k)!.shape, k).toEqual(e.shape);
    expect(b.get(k)!.dtype, k).toBe(e.dtype);
    expect(Buffer.compare(b.get(k)!.data, e.data), k).toBe(0);
  }
}

describe("model folders", () => {
  it("loads the golden MosaicBERT folder from model.safetensors", () => {
    const f = loadModelFolder(golden("mosaic-tiny-mlm"));
    expect(f.weights).toEqual(["model.safetensors"]);
    expect(f.config.alibi_starting_size).toBe(512);
    expect(f.tensors.size).toBe(4 + 11 * 2 + 5);
    expect(f.tensors.get("bert.embeddings.word_embeddings.weight")!.shape).toEqual([2048, 128]);
  });

  it("falls back to pytorch_model.bin when there is no safetensors file", () => {
    const dir = path.join(root, "bin-only");
    fs.mkdirSync(dir);
    fs.copyFileSync(golden("mosaic-tiny-mlm/config.json"), path.join(dir, "config.json"));
    fs.copyFileSync(golden("mosaic-tiny-mlm/pytorch_model.bin"), path.join(dir, "pytorch_model.bin"));
    const f = loadModelFolder(dir);
    expect(f.weights).toEqual(["pytorch_model.bin"]);
    expect(f.tensors.size).toBe(32); // plus the tied decoder weight
    expect(readCheckpoint(path.join(dir, "pytorch_model.bin")).size).toBe(32);
  });

  it("saves a folder whose model.safetensors is byte-identical to the reference's", () => {
    const src = loadModelFolder(golden("mosaic-tiny-mlm"));
    const dir = path.join(root, "saved");
    const written = saveModelFolder(dir, {
      config: src.config,
      tensors: src.tensors,
      tokenizerFiles: { "vocab.txt": "[PAD]\n[UNK]\n" },
      modelCard: { repo: "me/mosaic-tiny", datasets: ["wikitext"], training: { steps: 100, "sequence length": 128 } },
    });
    expect(written.sort()).toEqual(["README.md", "config.json", "model.safetensors", "vocab.txt"]);
    expect(Buffer.compare(fs.readFileSync(path.join(dir, "model.safetensors")), fs.readFileSync(golden("mosaic-tiny-mlm/model.safetensors")))).toBe(0);
    expect(fs.readdirSync(dir).filter((f) => f.endsWith(".tmp"))).toEqual([]);
    const back = loadModelFolder(dir);
    expect(back.config).toEqual(src.config);
    expect(back.tokenizerFiles).toEqual([path.join(dir, "vocab.txt")]);
    sameTensors(src.tensors, back.tensors);
    const card = fs.readFileSync(path.join(dir, "README.md"), "utf8");
    expect(card.startsWith("---\nlibrary_name: transformers\n")).toBe(true);
    expect(card).toMatch(/\ntags:\n- mosaicbert\n- fill-mask\n/);
    expect(card).toMatch(/\ndatasets:\n- wikitext\n/);
    expect(card).toMatch(/\nlicense: apache-2.0\n---\n/);
    expect(card).toContain('AutoModelForMaskedLM.from_pretrained("me/mosaic-tiny", trust_remote_code=True)');
    expect(card).toContain("| sequence length | 128 |");
    const params = [...src.tensors.values()].reduce((a, t) => a + t.shape.reduce((x, y) => x * y, 1), 0);
    expect(card).toContain(`${params.toLocaleString("en-US")} parameters`);
  });

  it("writes and reads sharded checkpoints through model.safetensors.index.json", () => {
    const src = loadModelFolder(golden("bert-tiny-mlm"));
    const dir = path.join(root, "sharded");
    const written = saveModelFolder(dir, { config: src.config, tensors: src.tensors, maxShardBytes: 1_000_000, modelCard: false });
    const shards = written.filter((f) => /^model-\d{5}-of-\d{5}\.safetensors$/.test(f));
    expect(shards.length).toBeGreaterThan(1);
    const index = JSON.parse(fs.readFileSync(path.join(dir, "model.safetensors.index.json"), "utf8"));
    expect(index.metadata.total_size).toBe(fs.statSync(golden("bert-tiny-mlm/model.safetensors")).size - 8 - fs.readFileSync(golden("bert-tiny-mlm/model.safetensors")).readUInt32LE(0));
    const back = loadModelFolder(dir);
    expect(back.weights.sort()).toEqual(shards.sort());
    sameTensors(src.tensors, back.tensors);
    expect(modelFolderShapes(dir).get("bert.embeddings.position_embeddings.weight")).toEqual({ dtype: "f32", shape: [512, 128] });
    expect(fs.existsSync(path.join(dir, "README.md"))).toBe(false);
  });

  it("explains what is wrong with a broken folder", () => {
    const dir = path.join(root, "broken");
    fs.mkdirSync(dir);
    expect(() => loadModelFolder(dir)).toThrow(/broken: config\.json: missing/);
    fs.writeFileSync(path.join(dir, "config.json"), "{oops");
    expect(() => loadModelFolder(dir)).toThrow(/config\.json: json: not valid JSON/);
    fs.writeFileSync(path.join(dir, "config.json"), "{}");
    expect(() => loadModelFolder(dir)).toThrow(/weights: no model\.safetensors/);
    fs.writeFileSync(path.join(dir, "model.safetensors.index.json"), JSON.stringify({ weight_map: { w: "../../etc/passwd" } }));
    expect(() => loadModelFolder(dir)).toThrow(/weight_map\.w: expected a shard file name in this folder/);
    fs.writeFileSync(path.join(dir, "model.safetensors.index.json"), JSON.stringify({ weight_map: { w: "model-00001-of-00001.safetensors" } }));
    expect(() => loadModelFolder(dir)).toThrow(/shard 'model-00001-of-00001\.safetensors' is missing/);
  });

  it("checks a big shard index in linear time, against the shard headers, and caps its entries", () => {
    const dir = path.join(root, "big-index");
    fs.mkdirSync(dir);
    fs.copyFileSync(golden("mosaic-tiny-mlm/config.json"), path.join(dir, "config.json"));
    fs.copyFileSync(golden("mosaic-tiny-mlm/model.safetensors"), path.join(dir, "model-00001-of-00001.safetensors"));
    const real = [...loadModelFolder(golden("mosaic-tiny-mlm")).tensors.keys()];
    const weightMap: Record<string, string> = {};
    for (const n of real) weightMap[n] = "model-00001-of-00001.safetensors";
    const index = path.join(dir, "model.safetensors.index.json");
    fs.writeFileSync(index, JSON.stringify({ metadata: {}, weight_map: weightMap }));
    expect(loadModelFolder(dir).tensors.size).toBe(real.length);
    // 60,000 names (a 2.5 MB index) for one shard: grouping them copied the list per entry (minutes).
    for (let i = 0; i < 60_000; i++) weightMap[`ghost.${i}`] = "model-00001-of-00001.safetensors";
    fs.writeFileSync(index, JSON.stringify({ metadata: {}, weight_map: weightMap }));
    const t0 = performance.now();
    expect(() => loadModelFolder(dir)).toThrow(/model-00001-of-00001\.safetensors: tensor 'ghost\.0': listed in model\.safetensors\.index\.json but not in the shard/);
    expect(performance.now() - t0).toBeLessThan(3000);
    expect(() => loadModelFolder(dir, { maxIndexEntries: 50_000 })).toThrow(
      /model\.safetensors\.index\.json: weight_map: lists 60031 tensors, more than the 50000 a checkpoint index may hold/,
    );
  }, 20_000);

  it("renders a plain BERT card without remote code", () => {
    const config = JSON.parse(fs.readFileSync(golden("bert-tiny-mlm/config.json"), "utf8"));
    const card = renderModelCard({ config, repo: "me/bert-tiny", tags: ["glue"], license: "mit" });
    expect(card).toMatch(/\ntags:\n- bert\n- fill-mask\n- mosaicbert-ts\n- glue\n/);
    expect(card).toContain('BertForMaskedLM.from_pretrained("me/bert-tiny")');
    expect(card).not.toContain("trust_remote_code");
    expect(card).toContain("license: mit");
  });
});
