import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createModel, type ForMaskedLM } from "@mosaicbert/layers";
import { cpu } from "@mosaicbert/tensor";
import { loadRecipe } from "../config/load.js";
import { loadCheckpoint } from "../checkpoint/checkpoint.js";
import { TrainTextLoader } from "../data/loader.js";
import { readMetrics } from "../log/metrics.js";
import { cleanup, quiet, SMALL, tmp } from "../testing/pretrain-fixtures.js";
import { mlmCollator, sampleSeeds, sliceRows, tokenizeAndMask } from "./batches.js";
import { modelConfigOf } from "./model-config.js";
import { pretrain } from "./pretrain.js";
import { SeedStream } from "./seeds.js";
import { loadTokenizer } from "./tokenizer.js";

// What pretrain() actually trains with, against computations that do not go through its wiring: the
// schedule written out by hand, the masking rate of the recipe, and one optimizer step redone from the
// initial weights (microbatch gradients combined on the host, the AdamW update in doubles).

afterAll(cleanup);

type TrainRecord = { step: number; lr: number; loss: number; grad_norm: number; samples: number; tokens: number; real_tokens: number; masked_tokens: number };
const trainRecords = (save: string) => readMetrics(join(save, "metrics.jsonl")).filter((r) => r.type === "train") as unknown as TrainRecord[];

async function run(overrides: string[], maxDuration: string): Promise<string> {
  const save = tmp();
  const s = await pretrain({ config: "tiny-cpu", overrides, maxDuration, saveFolder: save, device: "cpu", handleSignals: false, stderr: quiet, dataWorkers: 0 });
  expect(s.status).toBe("completed");
  return save;
}

describe("pretrain follows its recipe", () => {
  it("logs, at every step, the learning rate of linear warmup then linear decay; masks 30% of the trained tokens", async () => {
    const T = 12;
    const save = await run([...SMALL, "scheduler.t_warmup=0.25dur", "scheduler.alpha_f=0.1", "optimizer.lr=1e-3"], `${T}ba`);
    const recs = trainRecords(save);
    expect(recs.map((r) => r.step)).toEqual(Array.from({ length: T }, (_, i) => i + 1));
    // Batch t (0-based; its record says step t + 1) runs at lr·t/3 during the 3 warmup steps, then
    // lr·(1 − 0.9·(t − 3)/(12 − 3)): Composer's LinearWithWarmupScheduler stepped once per batch.
    const expected = [0, 1 / 3, 2 / 3, 1, 0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2].map((m) => 1e-3 * m);
    recs.forEach((r, i) => expect(r.lr).toBeCloseTo(expected[i]!, 12));
    for (const r of recs) {
      expect(r.samples).toBe(4 * r.step);
      expect(r.tokens).toBe(4 * 32 * r.step);
    }
    // Every row holds [CLS] … [SEP], never masked; every other real token is masked with p = 0.3.
    const eligible = recs.reduce((a, r) => a + r.real_tokens - 2 * 4, 0);
    const masked = recs.reduce((a, r) => a + r.masked_tokens, 0);
    expect(eligible).toBeGreaterThan(1000);
    const sigma = Math.sqrt((0.3 * 0.7) / eligible);
    expect(Math.abs(masked / eligible - 0.3)).toBeLessThan(4 * sigma);
  });

  describe("one optimizer step, redone by hand from the initial weights", () => {
    // 6 samples, microbatches of 3: two equal-weight microbatch means (Composer), not one batch mean (the
    // first batch has 28 and 23 masked tokens in its two halves, so the two weightings differ).
    const base = [
      ...SMALL,
      "global_train_batch_size=6",
      "device_train_microbatch_size=3",
      "model.model_config.hidden_dropout_prob=0",
      "model.model_config.attention_probs_dropout_prob=0",
      "scheduler.t_warmup=0ba",
      "optimizer.lr=1e-3",
      "optimizer.betas=[0.8, 0.95]",
      "optimizer.eps=1e-7",
      "optimizer.weight_decay=0.2",
      "save_interval=1ba",
    ];

    /** The first batch, as the loader serves it and the recipe masks it; gradients per microbatch on the host. */
    async function handGradient(): Promise<{ model: ForMaskedLM; g: Float64Array; loss: number; norm: number }> {
      const { config: cfg } = loadRecipe("tiny-cpu", { overrides: base });
      const ds = cfg.train_loader.dataset;
      const loader = await TrainTextLoader.create({ local: ds.local, remote: null, split: ds.split }, { globalBatchSize: 6, rank: 0, worldSize: 1, shuffle: ds.shuffle, shuffleSeed: ds.shuffle_seed ?? 9176 });
      const first = await loader.next();
      const { tokenizer } = loadTokenizer(cfg.tokenizer_name);
      const rows = tokenizeAndMask(first.texts, tokenizer, 32, mlmCollator(tokenizer, 0.3), sampleSeeds(cfg.seed, SeedStream.trainMask, first.epoch, first.ids));
      const model = createModel(modelConfigOf(cfg), "mlm", cpu, { seed: cfg.seed });
      const g = new Float64Array(model.flat.grads.size);
      let loss = 0;
      for (let r0 = 0; r0 < 6; r0 += 3) {
        model.zeroGrad();
        const out = model.forward(sliceRows(rows, r0, r0 + 3), { training: true, returnLogits: false });
        loss += out.loss!.item() / 2;
        out.loss!.dispose();
        model.backward();
        const gj = model.flat.grads.toArray() as Float32Array;
        for (let i = 0; i < g.length; i++) g[i]! += gj[i]! / 2;
      }
      model.zeroGrad();
      let ss = 0;
      for (const x of g) ss += x * x;
      return { model, g, loss, norm: Math.sqrt(ss) };
    }

    const relL2 = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
      let d = 0;
      let n = 0;
      for (let i = 0; i < a.length; i++) {
        d += (a[i]! - b[i]!) ** 2;
        n += b[i]! ** 2;
      }
      return Math.sqrt(d / n);
    };

    /** Checks the step-1 checkpoint of `save` against AdamW from the initial weights with gradient coef·g. */
    function checkStep(save: string, hand: Awaited<ReturnType<typeof handGradient>>, coef: number): void {
      const [rec] = trainRecords(save);
      expect(rec!.lr).toBe(1e-3);
      expect(rec!.loss).toBeCloseTo(hand.loss, 5);
      // The logged norm is of the gradient before clipping.
      expect(rec!.grad_norm / hand.norm).toBeCloseTo(1, 4);
      const ck = loadCheckpoint(join(save, "checkpoints", "ep0-ba1"));
      expect(ck.optimizer.m).toHaveLength(1);
      const m = ck.optimizer.m[0]!;
      const v = ck.optimizer.v[0]!;
      const [b1, b2, eps, wd, lr] = [0.8, 0.95, 1e-7, 0.2, 1e-3];
      // First step from zero moments: m = (1 − β1)·ĝ, v = (1 − β2)·ĝ², ĝ the clipped gradient.
      const gc = hand.g.map((x) => coef * x);
      expect(relL2(m, gc.map((x) => (1 - b1) * x))).toBeLessThan(1e-4);
      expect(relL2(v, gc.map((x) => (1 - b2) * x * x))).toBeLessThan(2e-4);
      // p1 = p0·(1 − wd·lr_t/lr) − lr_t·m̂/(√v̂ + eps): every parameter, biases and LayerNorms included.
      const p0 = hand.model.flat.params.toArray() as Float32Array;
      for (const [name, p] of hand.model.parameters()) {
        const got = ck.tensors.get(name)!.data;
        const want = new Float64Array(p.size);
        for (let i = 0; i < p.size; i++) {
          const k = p.offset + i;
          const mh = m[k]! / (1 - b1);
          const vh = v[k]! / (1 - b2);
          want[i] = p0[k]! * (1 - wd) - (lr * mh) / (Math.sqrt(vh) + eps);
        }
        expect(relL2(got, want), name).toBeLessThan(1e-5);
      }
    }

    it("accumulates microbatch gradients with the recipe's weights and applies decoupled AdamW as configured", async () => {
      const hand = await handGradient();
      const save = await run(base, "1ba");
      checkStep(save, hand, 1);
      hand.model.dispose();
    });

    it("clips the gradient to the configured norm before the optimizer step", async () => {
      const hand = await handGradient();
      const threshold = hand.norm / 4;
      const save = await run([...base, "algorithms.gradient_clipping.clipping_type=norm", `algorithms.gradient_clipping.clipping_threshold=${threshold}`], "1ba");
      checkStep(save, hand, threshold / (hand.norm + 1e-6));
      hand.model.dispose();
    });
  });
});
