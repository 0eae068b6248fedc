import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { saveModelFolder } from "@mosaicbert/hub";
import { type StateDict, createModel, preset, toHfConfig } from "@mosaicbert/layers";
import { cpu } from "@mosaicbert/tensor";
import { describe, expect, it } from "vitest";
import { encodeExamples } from "./encode.js";
import { type EpochEnd, type TrainingSnapshot, finetune, finetuneAsync, plannedSteps, taskConfig, withoutClassifier } from "./finetune.js";
import { loadTsvSplit } from "./load-tsv.js";
import { runGlue } from "./run-glue.js";
import { freshStartingModel, loadStartingModel } from "./starting-model.js";
import { TASKS } from "./tasks.js";
import { GLUE_DATA } from "./test-paths.js";

const tmp = mkdtempSync(join(tmpdir(), "glue-ft-"));
const equal = (a: Float32Array, b: Float32Array): boolean => a.length === b.length && a.every((x, i) => x === b[i]);

describe("finetune starting weights", () => {
  it("loads an MLM model folder: encoder weights kept, cls.* ignored, pooler and classifier fresh", () => {
    const config = preset("tiny");
    const mlm = createModel(config, "mlm", cpu, { seed: 3 });
    const sd = mlm.stateDictHost();
    mlm.dispose();
    const dir = join(tmp, "mlm");
    saveModelFolder(dir, {
      config: toHfConfig({ ...config, architectures: ["BertForMaskedLM"] }),
      tensors: new Map([...sd].map(([k, v]) => [k, { dtype: "f32" as const, shape: v.shape, data: v.data }])),
      modelCard: false,
    });
    const start = loadStartingModel(dir);
    expect(start.source).toContain("model.safetensors");
    const rte = loadTsvSplit(TASKS.rte, join(GLUE_DATA, "RTE/dev.tsv")).examples.slice(0, 8);
    const data = encodeExamples(rte, start.tokenizer, 32);
    // lr 0 and no weight decay: the weights after the run are the loaded ones.
    const res = finetune({
      backend: cpu, task: TASKS.rte, seed: 19, baseConfig: start.config, init: start.weights, train: data,
      evals: [{ evaluator: "glue_rte", data }], hparams: { lr: 0, weightDecay: 0, epochs: 1, batchSize: 4 }, keepState: true,
    });
    const out = res.state!;
    for (const name of ["bert.embeddings.word_embeddings.weight", "bert.encoder.layer.1.mlp.wo.weight"]) {
      expect(equal(out.get(name)!.data, sd.get(name)!.data), name).toBe(true);
    }
    expect([...out.keys()].some((k) => k.startsWith("cls."))).toBe(false);
    expect(out.get("classifier.weight")!.shape).toEqual([2, config.hiddenSize]);
    expect(res.steps).toBe(2);
    // The reported accuracy is that of the final weights' argmax, recomputed here one example at a
    // time (no padding, no batching) from the returned state.
    const model = createModel(taskConfig(start.config, TASKS.rte), "classification", cpu);
    model.loadStateDict(new Map([...out].map(([k, v]) => [k, { shape: v.shape, data: v.data }])));
    let right = 0;
    data.ids.forEach((ids, i) => {
      const n = ids.length;
      const tokenTypeIds = Int32Array.from({ length: n }, (_, s) => (s >= data.typeStart[i]! ? 1 : 0));
      const o = model.forward({ inputIds: ids, tokenTypeIds, attentionMask: new Int32Array(n).fill(1), batchSize: 1, seqLen: n }, { training: false });
      const [l0, l1] = o.logits.toArray() as Float32Array;
      o.logits.dispose();
      if ((l1! > l0! ? 1 : 0) === data.labels[i]) right++;
    });
    model.dispose();
    expect(right).not.toBe(4); // (at 1/2, reporting 1 − accuracy would go unnoticed)
    expect(res.evals.glue_rte!.accuracy).toBe(right / 8);
  });

  it("drops the classifier of a fine-tuned checkpoint (3 labels → 2) and keeps its pooler", () => {
    const base = preset("tiny");
    const mnli = createModel({ ...base, numLabels: 3 }, "classification", cpu, { seed: 5 });
    const sd: StateDict = mnli.stateDictHost();
    mnli.dispose();
    expect([...withoutClassifier(sd).keys()].some((k) => k.startsWith("classifier."))).toBe(false);
    const ex = loadTsvSplit(TASKS.mrpc, join(GLUE_DATA, "MRPC/dev.tsv")).examples.slice(0, 4);
    const data = encodeExamples(ex, freshStartingModel("tiny").tokenizer, 32);
    const res = finetune({
      backend: cpu, task: TASKS.mrpc, seed: 19, baseConfig: base, init: sd, train: data,
      evals: [{ evaluator: "glue_mrpc", data }], hparams: { lr: 0, weightDecay: 0, epochs: 1, batchSize: 4 }, keepState: true,
    });
    expect(equal(res.state!.get("bert.pooler.dense.weight")!.data, sd.get("bert.pooler.dense.weight")!.data)).toBe(true);
    expect(res.state!.get("classifier.weight")!.shape).toEqual([2, base.hiddenSize]);
    expect(Object.keys(res.evals.glue_mrpc!).sort()).toEqual(["accuracy", "f1"]);
  });

  it("plans ceil(N / batch) steps per epoch, capped by maxSteps", () => {
    expect(plannedSteps(2490, { lr: 1, weightDecay: 0, epochs: 3, batchSize: 16 })).toBe(468);
    expect(plannedSteps(100, { lr: 1, weightDecay: 0, epochs: 2, batchSize: 32, maxSteps: 5 })).toBe(5);
  });
});

describe("runGlue: RTE starts from the MNLI fine-tuned weights when MNLI ran", () => {
  it("chains MNLI → RTE and scores MNLI on matched and mismatched", async () => {
    // MNLI dev files are not available: build a folder whose dev splits are real MNLI train rows.
    const data = join(tmp, "glue");
    mkdirSync(join(data, "MNLI"), { recursive: true });
    const lines = readFileSync(join(GLUE_DATA, "MNLI/train.partial.tsv"), "utf8").split("\n");
    writeFileSync(join(data, "MNLI/train.tsv"), lines.slice(0, 17).join("\n") + "\n");
    writeFileSync(join(data, "MNLI/dev_matched.tsv"), [lines[0], ...lines.slice(100, 108)].join("\n") + "\n");
    writeFileSync(join(data, "MNLI/dev_mismatched.tsv"), [lines[0], ...lines.slice(200, 208)].join("\n") + "\n");
    symlinkSync(join(GLUE_DATA, "RTE"), join(data, "RTE"));
    const rep = await runGlue({
      backend: cpu, dataDir: data, start: freshStartingModel("tiny"), tasks: ["rte", "mnli"], seeds: 2,
      maxSeqLen: 32, maxTrainExamples: 8, maxEvalExamples: 8, maxSteps: 1, batchSize: 8,
    });
    const [mnli, rte] = rep.tasks;
    expect(mnli!.task).toBe("mnli");
    expect(mnli!.status, mnli!.error).toBe("ran");
    expect(mnli!.notes.join("\n")).toMatch(/train: partial — 16 of 392702 rows/);
    const m = mnli!.metrics!;
    expect(mnli!.score).toBeCloseTo((m.glue_mnli!.accuracy! + m.glue_mnli_mismatched!.accuracy!) / 2, 10);
    expect(rte!.startFrom).toBe("mnli");
    expect(rte!.seeds.map((s) => s.seed)).toEqual([19, 8364]);
    expect(rte!.notes.join("\n")).not.toMatch(/MNLI did not run/);
  });
});

describe("finetune: the host reads a step's loss after launching the next", () => {
  const base = preset("tiny");
  const start = freshStartingModel("tiny");
  const ex = loadTsvSplit(TASKS.sst2, join(GLUE_DATA, "SST-2/dev.tsv")).examples.slice(0, 40);
  const data = encodeExamples(ex, start.tokenizer, 32);
  type Job = Parameters<typeof finetune>[0];
  const job = (lr: number, extra: Pick<Job, "checkpointEvery" | "onStep" | "onCheckpoint" | "overlapSteps" | "keepState" | "onEpoch" | "resume" | "signal" | "checkpointOnAbort">): Job => ({
    backend: cpu, task: TASKS.sst2, seed: 7, baseConfig: base, init: null, train: data,
    evals: [{ evaluator: "glue_sst2", data }], hparams: { lr, weightDecay: 0, epochs: 2, batchSize: 4 }, ...extra,
  });

  it("reports every step's loss in order, once, and each checkpoint after its step was reported", () => {
    const events: string[] = [];
    const res = finetune(job(1e-3, {
      checkpointEvery: 3,
      onStep: (s) => events.push(`step ${s.step}`),
      onCheckpoint: (s) => events.push(`checkpoint ${s.step}`),
    }));
    expect(res.steps).toBe(20);
    const steps = events.filter((e) => e.startsWith("step")).map((e) => Number(e.slice(5)));
    expect(steps).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
    // Checkpoints at 3, 6, 9 (not 10: the epoch's end), 12, 15, 18, each right after its own step's line.
    const at = events.flatMap((e, i) => (e.startsWith("checkpoint") ? [[Number(e.slice(11)), events[i - 1]]] : []));
    expect(at).toEqual([3, 6, 9, 12, 15, 18].map((n) => [n, `step ${n}`]));
    expect(Number.isFinite(res.finalLoss)).toBe(true);
  });

  it("stops at the first non-finite loss with its step, and no checkpoint holds a weight updated from it", () => {
    const snapshots: Array<{ step: number; finite: boolean }> = [];
    const losses: number[] = [];
    let err: Error | undefined;
    try {
      // An absurd learning rate blows the weights up within a few steps.
      finetune(job(1e30, {
        checkpointEvery: 1,
        onStep: (s) => losses.push(s.loss),
        onCheckpoint: (s) => snapshots.push({ step: s.step, finite: [...s.weights.values()].every((t) => t.data.every(Number.isFinite)) }),
      }));
    } catch (e) {
      err = e as Error;
    }
    expect(err?.message).toMatch(/SST-2 seed 7: training loss became (NaN|-?Infinity) at step \d+; lower the learning rate/);
    const bad = Number(/at step (\d+)/.exec(err!.message)![1]);
    // Every step before it was reported with a finite loss; the failing one and any later one were not.
    expect(losses).toHaveLength(bad - 1);
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(snapshots.map((s) => s.step)).toEqual(Array.from({ length: bad - 1 }, (_, i) => i + 1).filter((n) => n % 10 !== 0));
    expect(snapshots.every((s) => s.finite)).toBe(true);
  });

  it("trains exactly what reading each loss right after its own step trains (overlapSteps false)", () => {
    const run = (overlapSteps: boolean) => {
      const losses: number[] = [];
      const res = finetune(job(1e-3, { overlapSteps, keepState: true, onStep: (s) => losses.push(s.loss) }));
      return { res, losses };
    };
    const a = run(true), b = run(false);
    expect(a.losses).toHaveLength(20);
    expect(a.losses).toEqual(b.losses);
    expect(a.res.evals).toEqual(b.res.evals);
    for (const [name, t] of a.res.state!) expect(equal(t.data, b.res.state!.get(name)!.data), name).toBe(true);
  });

  it("finetuneAsync lets the event loop run between steps: an abort from a macrotask stops it at a step boundary after a snapshot; the same training as finetune", async () => {
    const sync = finetune(job(1e-3, { keepState: true }));
    // Every step yields (yieldEveryMs 0); a setImmediate callback (as a signal handler would) aborts after step 3 is reported.
    const ac = new AbortController();
    const seen: number[] = [];
    const snaps: TrainingSnapshot[] = [];
    let ticks = 0;
    const tick = (): void => {
      ticks++;
      if (seen.length >= 3 && !ac.signal.aborted) ac.abort(new Error("interrupted"));
      else if (!ac.signal.aborted) setImmediate(tick);
    };
    setImmediate(tick);
    await expect(
      finetuneAsync(job(1e-3, { signal: ac.signal, checkpointOnAbort: true, checkpointEvery: 100, onStep: (s) => seen.push(s.step), onCheckpoint: (s) => snaps.push(s) }), { yieldEveryMs: 0 }),
    ).rejects.toThrow("interrupted");
    expect(ticks).toBeGreaterThanOrEqual(3);
    // Stopped at the step boundary where the abort was seen, every launched step read and reported first.
    expect(seen.length).toBeGreaterThanOrEqual(3);
    expect(seen.length).toBeLessThan(20);
    expect(snaps.map((x) => x.step)).toEqual([seen.at(-1)]);
    expect(snaps[0]!.epochLoss!.steps).toBe(seen.length);
    // Resumed from that snapshot, it ends with the uninterrupted run's weights.
    const res = await finetuneAsync(job(1e-3, { keepState: true, resume: snaps[0] }));
    expect(res.evals).toEqual(sync.evals);
    for (const [name, t] of sync.state!) expect(equal(t.data, res.state!.get(name)!.data), name).toBe(true);
    // Without checkpointOnAbort an abort ends the job as a kill would: no snapshot.
    const ac2 = new AbortController();
    const none: number[] = [];
    await expect(finetuneAsync(job(1e-3, { signal: ac2.signal, checkpointEvery: 100, onCheckpoint: (s) => none.push(s.step), onStep: (s) => s.step === 2 && ac2.abort(new Error("killed")) }))).rejects.toThrow("killed");
    expect(none).toEqual([]);
  });

  it("a job resumed inside an epoch reports that epoch's trainLoss over all its steps (the snapshot carries the epoch's loss sum)", () => {
    const epochs = (extra: Pick<Job, "resume" | "checkpointEvery" | "onCheckpoint">) => {
      const out: Array<Omit<EpochEnd, "snapshot" | "evals">> = [];
      finetune(job(1e-3, { ...extra, onEpoch: (e) => void out.push({ epoch: e.epoch, step: e.step, trainLoss: e.trainLoss }) }));
      return out;
    };
    const snaps: TrainingSnapshot[] = [];
    const whole = epochs({ checkpointEvery: 3, onCheckpoint: (x) => snaps.push(x) });
    expect(whole.map((e) => e.step)).toEqual([10, 20]);
    // Step 12: 2 steps into epoch 2.
    const at12 = snaps.find((x) => x.step === 12)!;
    expect(at12.epochLoss!.steps).toBe(2);
    expect(epochs({ resume: at12 })).toEqual(whole.slice(1));
    // A snapshot without it (an older version's) still resumes: the epoch then averages the steps after the resume.
    const { epochLoss: _old, ...older } = at12;
    const partial = epochs({ resume: older });
    expect(partial[0]!.trainLoss).not.toBe(whole[1]!.trainLoss);
  });
});
