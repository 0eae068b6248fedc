import { describe, expect, it } from "vitest";
import { TASKS, TASK_NAMES, parseTaskList } from "./tasks.js";

describe("task table (recipe.md §5.3)", () => {
  it("has 25 jobs in total, weight decay lr/10 except RTE (= lr)", () => {
    expect(TASK_NAMES.reduce((n, t) => n + TASKS[t].hparams.seeds.length, 0)).toBe(25);
    for (const t of TASK_NAMES) {
      const h = TASKS[t].hparams;
      expect(h.weightDecay, t).toBeCloseTo(t === "rte" ? h.lr : h.lr / 10, 15);
      expect(h.startFrom, t).toBe(["rte", "mrpc", "stsb"].includes(t) ? "mnli" : "pretrained");
    }
    expect(TASKS.stsb.kind).toBe("regression");
    expect(TASKS.stsb.scoreMetrics).toEqual(["spearman"]);
    expect(TASKS.mnli.evals.map((e) => e.evaluator)).toEqual(["glue_mnli", "glue_mnli_mismatched"]);
  });

  it("runs MNLI before the tasks that start from it", () => {
    const order = TASK_NAMES.indexOf.bind(TASK_NAMES);
    for (const t of ["rte", "mrpc", "stsb"] as const) expect(order(t)).toBeGreaterThan(order("mnli"));
  });
});

describe("parseTaskList", () => {
  it("accepts all, HF names and GLUE spellings, in run order, without duplicates", () => {
    expect(parseTaskList("all")).toEqual([...TASK_NAMES]);
    expect(parseTaskList("STS-B, sst-2,rte,sst2")).toEqual(["sst2", "rte", "stsb"]);
  });

  it("rejects unknown tasks and empty lists, naming the flag and the choices", () => {
    expect(() => parseTaskList("sst2,wnli")).toThrow(/--tasks: unknown task "wnli"; expected "all" or a comma list of mnli, qnli, qqp, sst2, cola, rte, mrpc, stsb/);
    expect(() => parseTaskList(",")).toThrow(/--tasks: no task given/);
  });
});
