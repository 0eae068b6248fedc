import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { createHash } from "node:crypto";
import { HubError, endpointKey, hubPullCommand, incompleteFile, loadModelFolder, modelFileFilter, parseRepoId, pullModel, pushModel, saveModelFolder } from "../index.js";
import { FakeHub, failureOf } from "../testing/fake-hub.js";

const golden = (p: string) => new URL(`../../../../../shared/data/golden/${p}`, import.meta.url).pathname;
const TOKEN = "hf_test_secret_token_123";
const root = fs.mkdtempSync(path.join(os.tmpdir(), "hub-client-"));
let hub: FakeHub;
let src: string;
let commit: string;

function filesOf(dir: string): string[] {
  return fs.readdirSync(dir, { recursive: true, encoding: "utf8" }).filter((f) => fs.statSync(path.join(dir, f)).isFile()).sort();
}

const errorOf = failureOf;

beforeAll(async () => {
  hub = await new FakeHub(TOKEN).start();
  // A real checkpoint folder: the golden MosaicBERT weights, its config, a tokenizer file, a model card.
  const g = loadModelFolder(golden("mosaic-tiny-mlm"));
  src = path.join(root, "src");
  saveModelFolder(src, { config: g.config, tensors: g.tensors, tokenizerFiles: { "vocab.txt": "[PAD]\n[UNK]\n[CLS]\n" }, modelCard: { repo: "me/tiny" } });
  fs.mkdirSync(path.join(src, "extra"));
  fs.writeFileSync(path.join(src, "extra", "notes.txt"), "nested file\n");
});
afterAll(async () => {
  await hub.close();
  fs.rmSync(root, { recursive: true, force: true });
});

describe("push and pull against a local Hub", () => {
  it("pushes a checkpoint folder: small files inline, the weights through LFS", async () => {
    const progress: string[] = [];
    const r = await pushModel(src, "me/tiny", { hubUrl: hub.url, token: TOKEN, onProgress: (p) => progress.push(`${p.phase}:${p.file}`) });
    commit = r.commit;
    expect(r.files).toEqual(["README.md", "config.json", "extra/notes.txt", "model.safetensors", "vocab.txt"]);
    expect(r.commitUrl).toBe(`${hub.url}/me/tiny/commit/${r.commit}`);
    const stored = hub.repos.get("me/tiny")!.commits.at(-1)!.files;
    expect(stored.get("model.safetensors")!.lfs).toBe(true);
    expect(stored.get("config.json")!.lfs).toBe(false);
    expect(hub.requests.some((q) => q.method === "PUT" && q.path.startsWith("/_lfs/"))).toBe(true);
    expect(progress).toContain("uploading:model.safetensors");
    // Pushing again into the existing repo works (409 on create is fine) and re-uses the LFS object.
    const puts = hub.requests.filter((q) => q.method === "PUT").length;
    await pushModel(src, "me/tiny", { hubUrl: hub.url, token: TOKEN });
    expect(hub.requests.filter((q) => q.method === "PUT").length).toBe(puts);
  });

  it("pulls it back byte for byte, then serves it from the cache", async () => {
    const cacheDir = path.join(root, "cache1");
    const to = path.join(root, "pulled");
    const seen = new Map<string, number>();
    const r = await pullModel("me/tiny", { hubUrl: hub.url, token: TOKEN, cacheDir, to, onProgress: (p) => seen.set(p.file, p.done) });
    expect(r.dir).toBe(to);
    expect(filesOf(to)).toEqual(filesOf(src));
    for (const f of filesOf(src)) expect(Buffer.compare(fs.readFileSync(path.join(to, f)), fs.readFileSync(path.join(src, f))), f).toBe(0);
    expect(seen.get("model.safetensors")).toBe(fs.statSync(path.join(src, "model.safetensors")).size);
    expect(loadModelFolder(to).tensors.size).toBe(31);
    const before = hub.requests.length;
    const again = await pullModel("me/tiny", { hubUrl: hub.url, token: TOKEN, cacheDir });
    expect(again.cached.sort()).toEqual(filesOf(src));
    expect(hub.requests.slice(before).some((q) => q.path.includes("/resolve/"))).toBe(false);
    expect(again.dir).toBe(path.join(cacheDir, endpointKey(hub.url), "models--me--tiny", "snapshots", r.commit));
  });

  it("resumes a download cut midway with an HTTP Range request", async () => {
    const size = fs.statSync(path.join(src, "model.safetensors")).size;
    hub.cut = { path: "model.safetensors", after: 1_000_000, times: 1 };
    const before = hub.requests.length;
    const r = await pullModel("me/tiny", { hubUrl: hub.url, token: TOKEN, cacheDir: path.join(root, "cache2") });
    const ranged = hub.requests.slice(before).filter((q) => q.path.startsWith("/_cdn/") && q.range);
    expect(ranged.length).toBe(1);
    const start = Number(/^bytes=(\d+)-$/.exec(ranged[0]!.range!)![1]);
    expect(start).toBeGreaterThan(0);
    expect(start).toBeLessThanOrEqual(1_000_000);
    expect(start).toBeLessThan(size);
    expect(Buffer.compare(fs.readFileSync(path.join(r.dir, "model.safetensors")), fs.readFileSync(path.join(src, "model.safetensors")))).toBe(0);
  });

  it("retries a file the server answers with 503, and gives up with a clear error on a 404", async () => {
    hub.fail = { path: "config.json", status: 503, times: 2 };
    const r = await pullModel("me/tiny", { hubUrl: hub.url, token: TOKEN, cacheDir: path.join(root, "cache9") });
    expect(hub.fail.times).toBe(0);
    expect(fs.readFileSync(path.join(r.dir, "config.json"), "utf8")).toBe(fs.readFileSync(path.join(src, "config.json"), "utf8"));
    hub.fail = { path: "config.json", status: 404, times: 1 };
    const e = await errorOf(pullModel("me/tiny", { hubUrl: hub.url, token: TOKEN, cacheDir: path.join(root, "cache10") }));
    expect(e.message).toMatch(/downloading config\.json failed with HTTP 404: not found/);
    hub.fail = null;
  });

  it("continues a .part left by an earlier run, and rejects a corrupted one by its sha256", async () => {
    const cacheDir = path.join(root, "cache3");
    const full = fs.readFileSync(path.join(src, "model.safetensors"));
    const listed = { path: "model.safetensors", size: full.length, lfsSha256: createHash("sha256").update(full).digest("hex") };
    const part = incompleteFile(listed, path.join(cacheDir, endpointKey(hub.url), "models--me--tiny", ".incomplete"));
    fs.mkdirSync(path.dirname(part), { recursive: true });
    fs.writeFileSync(part, full.subarray(0, 777_777));
    const before = hub.requests.length;
    const r = await pullModel("me/tiny", { hubUrl: hub.url, token: TOKEN, cacheDir, revision: commit });
    expect(hub.requests.slice(before).filter((q) => q.path.startsWith("/_cdn/")).map((q) => q.range)).toEqual(["bytes=777777-"]);
    expect(Buffer.compare(fs.readFileSync(path.join(r.dir, "model.safetensors")), full)).toBe(0);
    expect(fs.existsSync(part)).toBe(false);

    const cache4 = path.join(root, "cache4");
    const bad = incompleteFile(listed, path.join(cache4, endpointKey(hub.url), "models--me--tiny", ".incomplete"));
    fs.mkdirSync(path.dirname(bad), { recursive: true });
    fs.writeFileSync(bad, Buffer.alloc(1000, 7));
    const err = await errorOf(pullModel("me/tiny", { hubUrl: hub.url, token: TOKEN, cacheDir: cache4, revision: commit }));
    expect(err.message).toMatch(/model\.safetensors: sha256 mismatch: expected [0-9a-f]{64}, got [0-9a-f]{64}/);
    expect(fs.existsSync(bad)).toBe(false);
    await pullModel("me/tiny", { hubUrl: hub.url, token: TOKEN, cacheDir: cache4, revision: commit }); // a clean retry succeeds
  });

  it("says 401 clearly without ever echoing the token", async () => {
    const wrong = "hf_wrong_token_456";
    const e1 = await errorOf(pullModel("me/tiny", { hubUrl: hub.url, token: wrong, cacheDir: path.join(root, "cache5") }));
    expect(e1).toBeInstanceOf(HubError);
    expect((e1 as HubError).status).toBe(401);
    expect(e1.message).toMatch(/HTTP 401: the token was rejected \(check HF_TOKEN or --token\)/);
    expect(e1.message).not.toContain(wrong);
    const e2 = await errorOf(pushModel(src, "me/other", { hubUrl: hub.url, token: wrong }));
    expect(e2.message).toMatch(/creating me\/other failed with HTTP 401: the token was rejected/);
    expect(e2.message).not.toContain(wrong);
    const e3 = await errorOf(pushModel(src, "me/other", { hubUrl: hub.url, token: "" }));
    expect(e3.message).toMatch(/needs a Hugging Face write token/);
  });

  it("keeps private repos private and reads HF_ENDPOINT / HF_TOKEN from the environment", async () => {
    await pushModel(src, "me/secret", { hubUrl: hub.url, token: TOKEN, private: true });
    const e = await errorOf(pullModel("me/secret", { hubUrl: hub.url, cacheDir: path.join(root, "cache6") }));
    expect(e.message).toMatch(/HTTP 401: repository not found .*set HF_TOKEN or pass --token/);
    const saved = { ep: process.env.HF_ENDPOINT, tok: process.env.HF_TOKEN };
    process.env.HF_ENDPOINT = hub.url;
    process.env.HF_TOKEN = TOKEN;
    try {
      const r = await pullModel("me/secret", { cacheDir: path.join(root, "cache6") });
      expect(filesOf(r.dir)).toEqual(filesOf(src));
    } finally {
      if (saved.ep === undefined) delete process.env.HF_ENDPOINT; else process.env.HF_ENDPOINT = saved.ep;
      if (saved.tok === undefined) delete process.env.HF_TOKEN; else process.env.HF_TOKEN = saved.tok;
    }
  });

  it("reports unknown repos and revisions, and bad repo ids", async () => {
    const e = await errorOf(pullModel("me/tiny", { hubUrl: hub.url, token: TOKEN, revision: "nope", cacheDir: path.join(root, "cache7") }));
    expect(e.message).toMatch(/resolving me\/tiny@nope failed with HTTP 404: not found .*Invalid rev id: nope/);
    await expect(pullModel("../etc", { hubUrl: hub.url })).rejects.toThrow(/repo: expected "owner\/name"/);
    await expect(pullModel("a--b/c", { hubUrl: hub.url })).rejects.toThrow(/repo: expected "owner\/name"/);
  });

  it("accepts legacy repo ids without an owner (bert-base-uncased) for pulls, not for pushes", async () => {
    expect(parseRepoId("bert-base-uncased")).toEqual({ owner: "", name: "bert-base-uncased" });
    expect(parseRepoId("google-bert/bert-base-uncased")).toEqual({ owner: "google-bert", name: "bert-base-uncased" });
    const before = hub.requests.length;
    const e = await errorOf(pullModel("bert-base-uncased", { hubUrl: hub.url, token: TOKEN, cacheDir: path.join(root, "cache11") }));
    expect(e.message).toMatch(/resolving bert-base-uncased@main failed with HTTP 404/);
    expect(hub.requests.slice(before).map((q) => q.path)).toContain("/api/models/bert-base-uncased/revision/main");
    await expect(pushModel(src, "bert-base-uncased", { hubUrl: hub.url, token: TOKEN })).rejects.toThrow(/repo: expected "owner\/name" .*got 'bert-base-uncased'/);
  });

  it("pulls a repo holding both X and X.part (listed first) without mistaking one for the other's partial download", async () => {
    const dir = path.join(root, "with-part");
    fs.mkdirSync(dir);
    fs.writeFileSync(path.join(dir, "config.json"), "{}");
    fs.writeFileSync(path.join(dir, "notes.txt.part"), "a file of the repo that happens to end in .part, longer than notes.txt\n");
    fs.writeFileSync(path.join(dir, "notes.txt"), "notes\n".repeat(5));
    await pushModel(dir, "me/parts", { hubUrl: hub.url, token: TOKEN, files: ["config.json", "notes.txt.part", "notes.txt"] });
    const to = path.join(root, "with-part-pulled");
    const r = await pullModel("me/parts", { hubUrl: hub.url, token: TOKEN, cacheDir: path.join(root, "cache12"), to });
    expect(r.files.map((f) => f.path)).toEqual(["config.json", "notes.txt.part", "notes.txt"]);
    for (const f of ["notes.txt", "notes.txt.part"]) expect(fs.readFileSync(path.join(to, f), "utf8"), f).toBe(fs.readFileSync(path.join(dir, f), "utf8"));
    expect(filesOf(to)).toEqual(["config.json", "notes.txt", "notes.txt.part"]);
  });

  it("hub pull fetches only what the loader uses by default; --include and --all fetch more", async () => {
    // A repo laid out like google-bert/bert-base-uncased: weights in several frameworks, onnx/ and coreml/.
    const dir = path.join(root, "bbu");
    fs.mkdirSync(path.join(dir, "onnx"), { recursive: true });
    fs.mkdirSync(path.join(dir, "coreml"), { recursive: true });
    fs.copyFileSync(golden("bert-tiny-mlm/config.json"), path.join(dir, "config.json"));
    fs.copyFileSync(golden("bert-tiny-mlm/model.safetensors"), path.join(dir, "model.safetensors"));
    fs.copyFileSync(golden("mosaic-tiny-mlm/pytorch_model.bin"), path.join(dir, "pytorch_model.bin"));
    for (const f of ["vocab.txt", "tokenizer.json", "tokenizer_config.json", "README.md", "modeling_x.py", "LICENSE"]) fs.writeFileSync(path.join(dir, f), `${f}\n`);
    for (const f of ["tf_model.h5", "flax_model.msgpack", "rust_model.ot", "onnx/model.onnx", "coreml/model.mlmodel"]) fs.writeFileSync(path.join(dir, f), Buffer.alloc(4096, 1));
    await pushModel(dir, "google-bert/bert-like", { hubUrl: hub.url, token: TOKEN });
    const io = () => {
      const err: string[] = [];
      return { err, io: { stdout: { write: () => true }, stderr: { write: (t: string) => err.push(t) } } };
    };
    const a = io();
    const pulled = await hubPullCommand("google-bert/bert-like", { hubUrl: hub.url, token: TOKEN, cacheDir: path.join(root, "cache13"), to: path.join(root, "bbu-default") }, a.io);
    expect(filesOf(pulled)).toEqual(["README.md", "config.json", "model.safetensors", "modeling_x.py", "tokenizer.json", "tokenizer_config.json", "vocab.txt"]);
    expect(a.err.join("")).toMatch(/skipped 7 files the loader does not use: LICENSE, .*pytorch_model\.bin, .*tf_model\.h5 \(--all fetches every file/);
    expect(loadModelFolder(pulled).weights).toEqual(["model.safetensors"]);
    const b = io();
    const more = await hubPullCommand("google-bert/bert-like", { hubUrl: hub.url, token: TOKEN, cacheDir: path.join(root, "cache13"), to: path.join(root, "bbu-onnx"), include: ["onnx/**", "*.h5"] }, b.io);
    expect(filesOf(more)).toEqual(["README.md", "config.json", "model.safetensors", "modeling_x.py", path.join("onnx", "model.onnx"), "tf_model.h5", "tokenizer.json", "tokenizer_config.json", "vocab.txt"]);
    const all = await hubPullCommand("google-bert/bert-like", { hubUrl: hub.url, token: TOKEN, cacheDir: path.join(root, "cache13"), to: path.join(root, "bbu-all"), all: true }, io().io);
    expect(filesOf(all)).toEqual(filesOf(dir));
    // Without safetensors weights, pytorch_model.bin is the one fetched.
    expect([...["pytorch_model.bin", "config.json", "tf_model.h5", "onnx/model.onnx"]].filter(modelFileFilter(["pytorch_model.bin", "config.json", "tf_model.h5"]))).toEqual(["pytorch_model.bin", "config.json"]);
    expect(["model-00001-of-00002.safetensors", "pytorch_model-00001-of-00002.bin", "pytorch_model.bin.index.json", "model.safetensors.index.json"]
      .filter(modelFileFilter(["model-00001-of-00002.safetensors", "pytorch_model-00001-of-00002.bin"]))).toEqual(["model-00001-of-00002.safetensors", "model.safetensors.index.json"]);
  });

  it("serves a pulled revision from the cache when the Hub is unreachable, and says which host when nothing is cached", async () => {
    const cacheDir = path.join(root, "cache8");
    const mirror = await new FakeHub(TOKEN).start();
    await pushModel(src, "me/tiny", { hubUrl: mirror.url, token: TOKEN });
    await pullModel("me/tiny", { hubUrl: mirror.url, token: TOKEN, cacheDir });
    await mirror.close();
    const r = await pullModel("me/tiny", { hubUrl: mirror.url, token: TOKEN, cacheDir });
    expect(r.cached.sort()).toEqual(filesOf(src));
    const e = await errorOf(pullModel("me/other", { hubUrl: mirror.url, token: TOKEN, cacheDir }));
    expect(e.message).toMatch(new RegExp(`resolving me/other@main: cannot reach ${new URL(mirror.url).host} \\(ECONNREFUSED`));
  });
});
