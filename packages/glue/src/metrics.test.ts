import { describe, expect, it } from "vitest";
import { accuracy, averageRanks, binaryF1, macroF1, matthewsCorrcoef, pearson, spearman } from "./metrics.js";
import { epochOrder } from "./finetune.js";
import { computeMetrics, glueAverage, taskScore } from "./score.js";
import { TASKS } from "./tasks.js";

describe("metrics on hand-checked cases", () => {
  it("accuracy", () => {
    expect(accuracy([0, 1, 1, 0], [0, 1, 0, 0])).toBe(0.75);
    expect(accuracy(new Int32Array([2, 1, 0]), [2, 1, 0])).toBe(1);
    expect(() => accuracy([1], [1, 0])).toThrow(/differ in length/);
    expect(() => accuracy([], [])).toThrow(/no examples/);
  });

  it("binary F1 of class 1, 0 when there is no positive anywhere", () => {
    // tp 2, fp 1, fn 1 → 4 / 6
    expect(binaryF1([1, 1, 0, 0, 1], [1, 0, 1, 0, 1])).toBeCloseTo(2 / 3, 12);
    expect(binaryF1([0, 0, 0], [0, 0, 0])).toBe(0);
    expect(binaryF1([0, 0, 0], [1, 1, 0])).toBe(0);
    expect(binaryF1([1, 1], [1, 1])).toBe(1);
  });

  it("Matthews: binary equals (tp·tn − fp·fn)/√(…)", () => {
    // tp 2, tn 1, fp 1, fn 1 → 1/√(3·3·2·2) = 1/6
    expect(matthewsCorrcoef([1, 1, 0, 0, 1], [1, 0, 1, 0, 1])).toBeCloseTo(1 / 6, 12);
    expect(matthewsCorrcoef([0, 1, 1, 0], [0, 1, 1, 0])).toBe(1);
    expect(matthewsCorrcoef([1, 0, 0, 1], [0, 1, 1, 0])).toBe(-1);
  });

  it("Matthews: multiclass formula", () => {
    // c 4, s 6, t [2,2,2], p [2,3,1]: (24 − 12) / √((36 − 14)(36 − 12)) = 12/√528
    expect(matthewsCorrcoef([0, 1, 1, 1, 2, 0], [0, 0, 1, 1, 2, 2], 3)).toBeCloseTo(12 / Math.sqrt(528), 12);
  });

  it("Matthews: degenerate confusion matrices give 0, not NaN", () => {
    expect(matthewsCorrcoef([1, 1, 1, 1], [0, 1, 1, 0])).toBe(0); // constant prediction (majority class)
    expect(matthewsCorrcoef([0, 1, 1, 0], [1, 1, 1, 1])).toBe(0); // one label class only
    expect(matthewsCorrcoef([1, 1], [1, 1])).toBe(0); // all correct but one class: torchmetrics 0.11 says 0
    expect(() => matthewsCorrcoef([2], [0])).toThrow(/class ids must be integers in \[0, 2\)/);
  });

  it("Pearson", () => {
    // dx [−1.5 −.5 .5 1.5], dy [−3 −1 0 4]: 11 / √(5·26)
    expect(pearson([1, 2, 3, 4], [2, 4, 5, 9])).toBeCloseTo(11 / Math.sqrt(130), 12);
    expect(pearson([1, 2, 3], [3, 2, 1])).toBeCloseTo(-1, 12);
    // exact on large offsets (two-pass)
    expect(pearson([1e8 + 1, 1e8 + 2, 1e8 + 3], [1, 2, 3])).toBeCloseTo(1, 9);
  });

  it("Pearson and Spearman of a constant side are 0", () => {
    expect(pearson([3, 3, 3], [1, 2, 3])).toBe(0);
    expect(spearman([1, 2, 3], [2.5, 2.5, 2.5])).toBe(0);
    expect(() => spearman([1, NaN], [1, 2])).toThrow(/NaN or Infinity/);
  });

  it("Spearman with average ranks for ties", () => {
    expect(Array.from(averageRanks([10, 20, 20, 30]))).toEqual([1, 2.5, 2.5, 4]);
    expect(Array.from(averageRanks([5, 1, 5, 5]))).toEqual([3, 1, 3, 3]);
    // ranks [1, 2.5, 2.5, 4] vs [1, 3, 2, 4]: 4.5 / √(4.5·5) (scipy.stats.spearmanr: 0.9486833)
    expect(spearman([1, 2, 2, 3], [1, 3, 2, 4])).toBeCloseTo(0.9486833, 7);
    expect(spearman([1, 10, 100], [0.1, 0.2, 5])).toBeCloseTo(1, 12);
  });
});

describe("task scores and the GLUE average (recipe.md §5.5)", () => {
  it("computes every reported metric of a task", () => {
    const m = computeMetrics(TASKS.mrpc, [1, 1, 0, 0, 1], [1, 0, 1, 0, 1]);
    expect(m.accuracy).toBeCloseTo(0.6, 12);
    expect(m.f1).toBeCloseTo(2 / 3, 12);
    const s = computeMetrics(TASKS.stsb, [0.1, 0.4, 0.3], [1, 4, 5]);
    expect(Object.keys(s).sort()).toEqual(["pearson", "spearman"]);
    expect(s.spearman).toBeCloseTo(0.5, 12);
    expect(computeMetrics(TASKS.cola, [1, 1, 1], [0, 1, 1])).toEqual({ matthews: 0, accuracy: 2 / 3 });
  });

  it("MRPC: ×100, mean over seeds and both metrics; spread over seeds", () => {
    const r = taskScore(TASKS.mrpc, [
      { seed: 19, evals: { glue_mrpc: { accuracy: 0.8, f1: 0.9 } } },
      { seed: 8364, evals: { glue_mrpc: { accuracy: 0.7, f1: 0.8 } } },
    ]);
    expect(r.score).toBeCloseTo(80, 10);
    expect(r.perSeed.map((x) => +x.toFixed(10))).toEqual([85, 75]);
    expect(r.std).toBeCloseTo(Math.sqrt(50), 10);
    expect(r.metrics.glue_mrpc!.f1).toBeCloseTo(85, 10);
  });

  it("MNLI averages matched and mismatched; STS-B ignores Pearson; CoLA ignores accuracy", () => {
    expect(taskScore(TASKS.mnli, [{ seed: 19, evals: { glue_mnli: { accuracy: 0.8 }, glue_mnli_mismatched: { accuracy: 0.82 } } }]).score).toBeCloseTo(81, 10);
    const st = taskScore(TASKS.stsb, [{ seed: 19, evals: { glue_stsb: { spearman: 0.88, pearson: 0.1 } } }]);
    expect(st.score).toBeCloseTo(88, 10);
    expect(st.std).toBe(0);
    expect(taskScore(TASKS.cola, [{ seed: 19, evals: { glue_cola: { matthews: 0.5, accuracy: 0.9 } } }]).score).toBeCloseTo(50, 10);
  });

  it("GLUE = unweighted mean of the task scores, flagged incomplete when tasks are missing", () => {
    const full = glueAverage({ mnli: 80, qnli: 90, qqp: 88, sst2: 92, cola: 50, rte: 70, mrpc: 85, stsb: 89 });
    expect(full.score).toBeCloseTo(644 / 8, 10);
    expect(full.complete).toBe(true);
    const part = glueAverage({ sst2: 90, rte: 60 });
    expect(part.score).toBe(75);
    expect(part.complete).toBe(false);
    expect(part.missing).toEqual(["mnli", "qnli", "qqp", "cola", "mrpc", "stsb"]);
    expect(() => glueAverage({})).toThrow(/no task scores/);
  });
});

describe("macroF1 and the epoch order of finetune", () => {
  it("macro-F1 is the mean of the per-class F1 (sklearn f1_score(average='macro') values)", () => {
    // Per class: 0: tp 2 fp 1 fn 0 → 0.8; 1: tp 1 fp 1 fn 1 → 0.5; 2: tp 0 fp 0 fn 1 → 0. Mean 1.3 / 3.
    expect(macroF1([0, 0, 1, 0, 1], [0, 0, 1, 1, 2], 3)).toBeCloseTo(1.3 / 3, 12);
    // A class seen nowhere counts as 0, as torchmetrics does.
    expect(macroF1([0, 1], [0, 1], 3)).toBeCloseTo(2 / 3, 12);
    expect(() => macroF1([0, 3], [0, 1], 3)).toThrow(/class ids must be integers in \[0, 3\)/);
  });

  it("epochOrder: file order unless shuffled; a seeded permutation, different per epoch and stable across calls", () => {
    expect([...epochOrder(5, 19, 0, false)]).toEqual([0, 1, 2, 3, 4]);
    const a = [...epochOrder(50, 19, 0, true)];
    expect([...a].sort((x, y) => x - y)).toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect(a).not.toEqual(Array.from({ length: 50 }, (_, i) => i));
    expect([...epochOrder(50, 19, 0, true)]).toEqual(a);
    expect([...epochOrder(50, 19, 1, true)]).not.toEqual(a);
    expect([...epochOrder(50, 20, 0, true)]).not.toEqual(a);
  });
});

describe("metrics refuse what they cannot score", () => {
  it("mismatched lengths and empty inputs, naming the metric", () => {
    for (const [name, f] of [
      ["accuracy", accuracy], ["binaryF1", binaryF1], ["matthewsCorrcoef", matthewsCorrcoef], ["pearson", pearson], ["spearman", spearman],
    ] as const) {
      expect(() => f([1, 0], [1]), name).toThrow(`${name}: predictions (2) and labels (1) differ in length; expected one prediction per label`);
      expect(() => f([], []), name).toThrow(`${name}: no examples; expected at least one prediction`);
    }
    expect(() => macroF1([0], [0, 1], 2)).toThrow("macroF1: predictions (1) and labels (2) differ in length");
  });

  it("class ids outside [0, numClasses) or fractional, with the index", () => {
    expect(() => macroF1([0, 3], [0, 1], 3)).toThrow("macroF1: class ids must be integers in [0, 3); got prediction 3, label 1 at index 1");
    expect(() => macroF1([0, 1], [-1, 1], 3)).toThrow("got prediction 0, label -1 at index 0");
    expect(() => macroF1([0.5], [0], 2)).toThrow("got prediction 0.5, label 0 at index 0");
    expect(() => macroF1([0], [1.5], 2)).toThrow("got prediction 0, label 1.5 at index 0");
    expect(() => matthewsCorrcoef([0, 2], [0, 1])).toThrow("matthewsCorrcoef: class ids must be integers in [0, 2); got prediction 2, label 1 at index 1");
    expect(() => matthewsCorrcoef([0, 1], [0, -1])).toThrow("got prediction 1, label -1 at index 1");
    expect(() => matthewsCorrcoef([0.5, 1], [0, 1])).toThrow("got prediction 0.5, label 0 at index 0");
    expect(() => matthewsCorrcoef([0, 1], [0, 0.5])).toThrow("got prediction 1, label 0.5 at index 1");
    // Each bound on its own: a prediction below 0, a label at numClasses (not silently dropped from the counts).
    expect(() => macroF1([-1, 0], [0, 0], 2)).toThrow("macroF1: class ids must be integers in [0, 2); got prediction -1, label 0 at index 0");
    expect(() => macroF1([0, 1], [0, 2], 2)).toThrow("got prediction 1, label 2 at index 1");
    expect(() => matthewsCorrcoef([-1, 1], [0, 1])).toThrow("got prediction -1, label 0 at index 0");
    expect(() => matthewsCorrcoef([0, 1], [0, 2])).toThrow("got prediction 1, label 2 at index 1");
  });

  it("non-finite regression outputs; perfect and inverted correlations are exactly ±1", () => {
    expect(() => pearson([1, NaN, 3], [1, 2, 3])).toThrow("pearson: inputs contain NaN or Infinity; expected finite numbers");
    expect(() => pearson([1, 2, 3], [1, Infinity, 3])).toThrow(/pearson: inputs contain NaN or Infinity/);
    expect(pearson([1, 2, 3, 4], [2, 4, 6, 8])).toBe(1);
    expect(pearson([1, 2, 3, 4], [8, 6, 4, 2])).toBe(-1);
    expect(pearson([0.1, 0.2, 0.3], [0.3, 0.6, 0.9])).toBeLessThanOrEqual(1);
    expect(spearman([1, 5, 2], [10, 50, 20])).toBe(1);
    expect(() => spearman([1, NaN], [1, 2])).toThrow("spearman: inputs contain NaN or Infinity; expected finite numbers");
    expect(() => spearman([1, 2], [1, -Infinity])).toThrow(/spearman: inputs contain NaN/);
    expect(macroF1([0, 0, 1, 2], [0, 1, 1, 2], 4)).toBeCloseTo((2 / 3 + 2 / 3 + 1 + 0) / 4, 12);
    expect(matthewsCorrcoef([0, 1, 2, 0], [0, 1, 2, 1], 3)).toBeCloseTo((3 * 4 - (1 * 2 + 2 * 1 + 1 * 1)) / Math.sqrt((16 - (4 + 1 + 1)) * (16 - (1 + 4 + 1))), 12);
  });
});
