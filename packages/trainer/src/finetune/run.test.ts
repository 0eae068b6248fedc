import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { Writable } from "node:stream";
import { Command } from "commander";
import { loadModelFolder } from "@mosaicbert/hub";
import { runInfer } from "@mosaicbert/inference";
import { loadPretrained, remoteCodeFiles } from "@mosaicbert/layers";
import { bertBaseUncased, bertBaseUncasedVocabPath } from "@mosaicbert/data-streaming";
import { cpu } from "@mosaicbert/tensor";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { registerFinetune } from "../cli/finetune.js";
import { registerInfer } from "../cli/infer.js";
import { FINETUNE_RESULTS_FILE, FINETUNE_STATE_DIR, finetuneFiles } from "./run.js";
import { tinyModelFolder } from "../testing/tiny-model.js";

const SST2 = fileURLToPath(new URL("../../../../../shared/data/glue/SST-2/train.tsv", import.meta.url));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "finetune-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));
const quiet = { write: () => true };

/** SST-2 training rows [sentence, label] in file order (real GLUE data). */
const sst2 = fs.readFileSync(SST2, "utf8").trim().split("\n").slice(1).map((l) => l.split("\t") as [string, string]);
const csvField = (s: string) => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);


let model: string;
beforeAll(() => {
  model = tinyModelFolder(path.join(tmp, "tiny"));
});

describe("mosaicbert finetune on a real labelled file (SST-2 slice)", () => {
  it("beats the majority class on held-out rows; the folder loads in infer with the file's label names", async () => {
    const train = path.join(tmp, "train.csv");
    fs.writeFileSync(train, `sentence,label\n${sst2.slice(0, 480).map(([s, l]) => `${csvField(s)},${l}`).join("\n")}\n`);
    const held = sst2.slice(60000, 60200);
    const evalFile = path.join(tmp, "eval.jsonl");
    fs.writeFileSync(evalFile, held.map(([s, l]) => JSON.stringify({ sentence: s, label: Number(l) })).join("\n") + "\n");
    const out = path.join(tmp, "sst2-model");
    const p = new Command("mosaicbert").exitOverride().configureOutput({ writeErr: () => {} });
    let log = "";
    registerFinetune(p, { stderr: { write: (s: string) => (log += s) } });
    await p.parseAsync(
      ["finetune", "--model", model, "--train", train, "--eval", evalFile, "--out", out, "--device", "cpu", "--epochs", "4", "--lr", "1e-3", "--max-seq-len", "64"],
      { from: "user" },
    );
    const results = JSON.parse(fs.readFileSync(path.join(out, FINETUNE_RESULTS_FILE), "utf8"));
    const ones = held.filter(([, l]) => l === "1").length;
    const majority = Math.max(ones, held.length - ones) / held.length;
    expect(results.history).toHaveLength(4);
    expect(results.saved.metrics.accuracy).toBeGreaterThan(majority + 0.05);
    expect(results.saved.metrics.macro_f1).toBeGreaterThan(0.5);
    expect(log).toMatch(/classification, 2 labels \(0, 1\); 480 training rows/);
    // A Hugging Face classifier folder: config with the labels, weights under transformers' names, tokenizer, card.
    const folder = loadModelFolder(out);
    // MosaicBERT: our class names, model_type and the PyTorch code its auto_map names (transformers, trust_remote_code).
    expect(folder.config.architectures).toEqual(["MosaicBertForSequenceClassification"]);
    expect(folder.config.model_type).toBe("mosaic_bert");
    const code = Object.keys(remoteCodeFiles(folder.config));
    expect(code.length).toBeGreaterThan(0);
    for (const f of code) expect(fs.existsSync(path.join(out, f)), f).toBe(true);
    expect(folder.config.id2label).toEqual({ 0: "0", 1: "1" });
    expect(folder.config.label2id).toEqual({ 0: 0, 1: 1 });
    expect(folder.tensors.get("classifier.weight")!.shape).toEqual([2, 64]);
    expect(folder.tensors.has("bert.pooler.dense.weight")).toBe(true);
    for (const f of ["vocab.txt", "README.md"]) expect(fs.existsSync(path.join(out, f)), f).toBe(true);
    expect(fs.existsSync(path.join(out, FINETUNE_STATE_DIR))).toBe(false);
    // infer loads it: its class probabilities on the held-out rows give the accuracy the run reported.
    const res = await runInfer({ modelDir: out, texts: held.map(([s]) => s), tokenizer: bertBaseUncased(), log: () => {} });
    expect(res.task).toBe("classification");
    const correct = res.classes!.filter((r, i) => {
      const [n0, p0] = r.labels[0]!;
      expect(n0).toBe("0");
      return (p0 >= 0.5 ? "0" : "1") === held[i]![1];
    }).length;
    expect(Math.abs(correct / held.length - results.saved.metrics.accuracy)).toBeLessThanOrEqual(1 / held.length);
    // …and through the CLI, naming the classes as the training file did.
    let printed = "";
    const sink = new Writable({ write(c, _e, done) { printed += String(c); done(); } });
    const q = new Command("mosaicbert").exitOverride().configureOutput({ writeErr: () => {} });
    registerInfer(q, { stdout: sink, stderr: new Writable({ write(_c, _e, d) { d(); } }) });
    await q.parseAsync(["infer", "--model", out, "--text", "a charming and moving film", "--json"], { from: "user" });
    const row = JSON.parse(printed.trim());
    expect(Object.keys(row.probs)).toEqual(["0", "1"]);
    expect(row.probs["0"] + row.probs["1"]).toBeCloseTo(1, 6);
  }, 240_000);
});

describe("finetune regression on text pairs (STS-B slice, TSV)", () => {
  it("detects float labels, trains with MSE, reports Spearman/Pearson and writes a regression head infer reads as scores", async () => {
    const stsb = fileURLToPath(new URL("../../../../../shared/data/glue/STS-B/train.tsv", import.meta.url));
    const lines = fs.readFileSync(stsb, "utf8").trim().split("\n");
    const train = path.join(tmp, "sts-train.tsv");
    const evalFile = path.join(tmp, "sts-eval.tsv");
    fs.writeFileSync(train, [lines[0], ...lines.slice(1, 65)].join("\n") + "\n");
    fs.writeFileSync(evalFile, [lines[0], ...lines.slice(3000, 3032)].join("\n") + "\n");
    const out = path.join(tmp, "sts-model");
    // A starting folder with its own tokenizer files: the output carries them (not the shipped vocab's).
    const own = tinyModelFolder(path.join(tmp, "tiny-own-tokenizer"));
    fs.copyFileSync(bertBaseUncasedVocabPath(), path.join(own, "vocab.txt"));
    const tokConfig = JSON.stringify({ do_lower_case: true, model_max_length: 64, note: "the starting folder's own" });
    fs.writeFileSync(path.join(own, "tokenizer_config.json"), tokConfig);
    const s = await finetuneFiles({ model: own, train, eval: evalFile, out, labelColumn: "score", backend: cpu, epochs: 1, batchSize: 16, maxSeqLen: 64, stderr: quiet });
    expect(fs.readFileSync(path.join(out, "tokenizer_config.json"), "utf8")).toBe(tokConfig);
    expect(s.task).toBe("regression");
    expect(s.metric).toBe("spearman");
    expect(Object.keys(s.saved.metrics).sort()).toEqual(["pearson", "spearman"]);
    const cfg = loadModelFolder(out).config;
    expect(cfg.problem_type).toBe("regression");
    expect(loadModelFolder(out).tensors.get("classifier.weight")!.shape).toEqual([1, 64]);
    const res = await runInfer({ modelDir: out, texts: ["a man is playing a guitar ."], tokenizer: bertBaseUncased(), log: () => {} });
    expect(res.classes![0]!.kind).toBe("score");
    expect(Number.isFinite(res.classes![0]!.labels[0]![1])).toBe(true);
  }, 120_000);
});

describe("finetune resume and output folder rules", () => {
  const rows = sst2.slice(1000, 1064);
  const train = path.join(tmp, "small.tsv");
  const evalFile = path.join(tmp, "small-eval.tsv");
  beforeAll(() => {
    fs.writeFileSync(train, `sentence\tlabel\n${rows.map(([s, l]) => `${s}\t${l === "1" ? "positive" : "negative"}`).join("\n")}\n`);
    fs.writeFileSync(evalFile, `sentence\tlabel\n${sst2.slice(2000, 2032).map(([s, l]) => `${s}\t${l === "1" ? "positive" : "negative"}`).join("\n")}\n`);
  });
  const opts = (out: string) => ({ model, train, eval: evalFile, out, backend: cpu, epochs: 2, batchSize: 8, lr: 1e-3, maxSeqLen: 48, checkpointEvery: 3, stderr: quiet });

  it("a run killed at step 7 resumes from its step-6 snapshot and ends with the uninterrupted run's weights and evals", async () => {
    const whole = await finetuneFiles({ ...opts(path.join(tmp, "whole")), save: "last" });
    expect(whole.steps).toBe(16);
    expect(whole.labels).toEqual(["negative", "positive"]);

    const out = path.join(tmp, "killed");
    const ac = new AbortController();
    const seen: number[] = [];
    await expect(
      finetuneFiles({ ...opts(out), save: "last", signal: ac.signal, onStep: (s) => (seen.push(s.step), s.step === 7 && ac.abort(new Error("killed at step 7"))) }),
    ).rejects.toThrow("killed at step 7");
    expect(seen).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(fs.existsSync(path.join(out, FINETUNE_STATE_DIR))).toBe(true);
    // Without --resume the unfinished run is not silently replaced.
    await expect(finetuneFiles({ ...opts(out), save: "last" })).rejects.toThrow(/holds an unfinished run .* pass --resume/);
    // Different options cannot resume it.
    await expect(finetuneFiles({ ...opts(out), save: "last", resume: true, lr: 2e-3 })).rejects.toThrow(/started with lr 0\.001, now 0\.002/);

    const steps: number[] = [];
    const resumed = await finetuneFiles({ ...opts(out), save: "last", resume: true, onStep: (s) => steps.push(s.step) });
    expect(resumed.resumedFrom).toBe(6);
    expect(steps).toEqual([7, 8, 9, 10, 11, 12, 13, 14, 15, 16]);
    // The history matches, the train loss of the resumed epoch included (the snapshot carries its loss sum of steps 1–6).
    expect(resumed.history).toEqual(whole.history);
    expect(JSON.parse(fs.readFileSync(path.join(out, FINETUNE_RESULTS_FILE), "utf8")).history).toEqual(whole.history);
    const a = loadModelFolder(path.join(tmp, "whole")).tensors;
    const b = loadModelFolder(out).tensors;
    expect([...b.keys()].sort()).toEqual([...a.keys()].sort());
    for (const [name, t] of a) expect(Buffer.compare(Buffer.from(t.data), Buffer.from(b.get(name)!.data)), name).toBe(0);
    expect(fs.existsSync(path.join(out, FINETUNE_STATE_DIR))).toBe(false);
    await expect(finetuneFiles({ ...opts(out), resume: true })).rejects.toThrow(/holds a finished run/);
    await expect(finetuneFiles(opts(out))).rejects.toThrow(/already holds a model .* --overwrite/);
  }, 240_000);

  it("--metric: a metric of the other kind of task is refused, listing every metric that applies", async () => {
    await expect(finetuneFiles({ ...opts(path.join(tmp, "metric-c")), metric: "spearman" })).rejects.toThrow(
      "--metric: spearman does not apply to a classification task; expected one of accuracy, macro_f1, f1, matthews",
    );
    const sts = path.join(tmp, "sts-metric.csv");
    fs.writeFileSync(sts, "text,label\na,0.5\nb,1.25\nc,3\n");
    await expect(finetuneFiles({ ...opts(path.join(tmp, "metric-r")), train: sts, eval: sts, metric: "f1" })).rejects.toThrow(
      "--metric: f1 does not apply to a regression task; expected one of spearman, pearson",
    );
  });

  it("stops early after --patience epochs without improvement and keeps the best epoch's weights", async () => {
    const out = path.join(tmp, "patience");
    // lr 0: nothing changes, so epoch 1 stays the best and epoch 2 does not improve on it.
    const s = await finetuneFiles({ ...opts(out), lr: 1e-12, weightDecay: 0, epochs: 5, patience: 1 });
    expect(s.stoppedEarly).toBe(true);
    expect(s.history.map((h) => h.epoch)).toEqual([1, 2]);
    expect(s.saved.epoch).toBe(1);
    expect(s.steps).toBe(16);
    const { model: m, task } = loadPretrained(out, cpu);
    expect(task).toBe("classification");
    expect(m.config.id2label).toEqual({ 0: "negative", 1: "positive" });
    m.dispose();
  }, 120_000);
});
