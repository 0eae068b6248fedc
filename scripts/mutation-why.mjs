#!/usr/bin/env node
// Issue #22's "Why" mutations, each applied to a copy of the working tree and run against the tests that
// must notice it: every case must make those tests fail (and they must pass unmutated first).
// Usage: node scripts/mutation-why.mjs [case-number …]   (prints a Markdown table; exit 1 if a mutant lives)
// Not part of CI (a few minutes on 2 cores). The copy lives in .mutation-why/ with ../shared beside it, as
// the tests expect; node_modules folders are linked, workspace imports resolve to the copy's sources.
import { spawnSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");

/** file: where; from: the exact text (found once); to: the mutant; tests: the files that must fail. */
const CASES = [
  {
    why: "evaluation reports 1 − accuracy (comparison inverted)",
    file: "packages/trainer/src/train/step.ts",
    from: "if (p[i] === b.labels[pos[i]!]) correct++;",
    to: "if (p[i] !== b.labels[pos[i]!]) correct++;",
    tests: ["packages/trainer/src/train/evaluate.test.ts"],
  },
  {
    why: "pretrain's schedule step is floor(1.5·step)+1",
    file: "packages/trainer/src/train/phases/train-step.ts",
    from: "plan.schedule.multiplier(at)",
    to: "plan.schedule.multiplier(Math.floor(1.5 * at) + 1)",
    tests: ["packages/trainer/src/train/recipe.test.ts"],
  },
  {
    why: "pretrain masks at 0.05 instead of the recipe's mlm_probability (0.3)",
    file: "packages/trainer/src/train/phases/setup-data.ts",
    from: "mlmProbability: trainDs.mlm_probability",
    to: "mlmProbability: 0.05",
    tests: ["packages/trainer/src/train/recipe.test.ts"],
  },
  {
    why: "longest-first pair truncation cuts only the second text",
    file: "packages/data-streaming/src/tokenizer/truncate.ts",
    from: "  if (nA + nB <= budget) return [nA, nB];",
    to: "  return [Math.min(nA, budget), Math.max(0, budget - nA)];",
    tests: ["packages/data-streaming/src/tokenizer/truncate.test.ts", "packages/data-streaming/src/tokenizer/tokenizer.test.ts"],
  },
  {
    why: "GPU golden check bounds only the concatenated gradient (at 2e-2), not each parameter",
    file: "packages/trainer/src/checks/golden.ts",
    from: "ok: outputsOk && failed.length === 0 }",
    to: "ok: outputsOk && errors.gradients <= 2e-2 }",
    tests: ["packages/trainer/src/checks/golden.test.ts"],
  },
  {
    why: "NcclCommunicator sends sum for mean (op code swapped)",
    file: "packages/kernels-cuda/src/collectives.ts",
    from: 'op === "mean" ? 1 : 0',
    to: 'op === "mean" ? 0 : 1',
    tests: ["packages/kernels-cuda/src/collectives.test.ts"],
  },
  {
    why: "classifier probabilities wrong (softmax without the max shift's normaliser)",
    file: "packages/inference/src/class-probs.ts",
    from: "values = e.map((x) => x / sum);",
    to: "values = e.map((x) => x / (sum + 1));",
    tests: ["packages/inference/src/fill-mask.test.ts"],
  },
  {
    why: "MNLI label order (neutral and contradiction swapped)",
    file: "packages/glue/src/tasks.ts",
    from: 'labelNames: ["entailment", "neutral", "contradiction"],',
    to: 'labelNames: ["entailment", "contradiction", "neutral"],',
    tests: ["packages/glue/src/load-tsv.test.ts", "packages/glue/src/labelled.test.ts"],
  },
  {
    why: "trainFlops counts the last layer on every token",
    file: "packages/trainer/src/train/flops.ts",
    from: "const lastRows = cost.predicted > 0 ? cost.predicted : tokens;",
    to: "const lastRows = tokens;",
    tests: ["packages/trainer/src/train/flops.test.ts"],
  },
  {
    why: "finetune reports the accuracy of the wrong class (argmin for argmax)",
    file: "packages/glue/src/finetune.ts",
    from: "if (logits[r * C + c]! > logits[r * C + best]!) best = c;",
    to: "if (logits[r * C + c]! < logits[r * C + best]!) best = c;",
    tests: ["packages/glue/src/finetune.test.ts"],
  },
];

/** Extra cases (not in the issue's text) pinning the recipe test's other claims. */
CASES.push(
  {
    why: "(extra) weight decay ignored by the trainer's optimizer",
    file: "packages/layers/src/optim/adamw.ts",
    from: "decay: decayFactor * this.weightDecay,",
    to: "decay: 0,",
    tests: ["packages/trainer/src/train/recipe.test.ts"],
  },
  {
    why: "(extra) clipping threshold doubled",
    file: "packages/trainer/src/train/phases/plan.ts",
    from: "clip: cfg.algorithms.gradient_clipping ?? null,",
    to: "clip: cfg.algorithms.gradient_clipping ? { ...cfg.algorithms.gradient_clipping, clipping_threshold: 2 * cfg.algorithms.gradient_clipping.clipping_threshold } : null,",
    tests: ["packages/trainer/src/train/recipe.test.ts"],
  },
);

const only = process.argv.slice(2).map(Number);
const cases = CASES.map((c, i) => ({ ...c, n: i + 1 })).filter((c) => only.length === 0 || only.includes(c.n));

// The copy: tracked and untracked-but-not-ignored files of the working tree.
const base = join(root, ".mutation-why");
const copy = join(base, "repo");
rmSync(copy, { recursive: true, force: true });
mkdirSync(copy, { recursive: true });
const shared = resolve(root, "..", "shared");
if (!existsSync(join(base, "shared"))) symlinkSync(shared, join(base, "shared"));
const files = spawnSync("git", ["ls-files", "-co", "--exclude-standard", "-z"], { cwd: root, encoding: "utf8" }).stdout.split("\0").filter(Boolean);
for (const f of files) if (existsSync(join(root, f))) cpSync(join(root, f), join(copy, f), { dereference: false });
const link = (rel) => existsSync(join(root, rel)) && symlinkSync(join(root, rel), join(copy, rel));
link("node_modules");
for (const p of readdirSync(join(root, "packages"))) link(join("packages", p, "node_modules"));

function vitest(tests) {
  const r = spawnSync(process.execPath, ["node_modules/vitest/vitest.mjs", "run", "--maxWorkers=1", ...tests], { cwd: copy, encoding: "utf8" });
  const out = `${r.stdout}${r.stderr}`.replace(/\x1b\[[0-9;]*m/g, "");
  const failed = /Tests\s+(\d+) failed/.exec(out)?.[1] ?? "0";
  return { code: r.status, failed: Number(failed), out };
}

const rows = [];
let bad = 0;
for (const c of cases) {
  const path = join(copy, c.file);
  const src = readFileSync(path, "utf8");
  const at = src.split(c.from).length - 1;
  if (at !== 1) {
    rows.push(`| ${c.n} | ${c.why} | \`${c.file}\` | — | mutation site found ${at} times: update this script |`);
    bad++;
    continue;
  }
  const clean = vitest(c.tests);
  if (clean.code !== 0) {
    rows.push(`| ${c.n} | ${c.why} | \`${c.file}\` | — | tests fail unmutated |`);
    process.stderr.write(clean.out.slice(-3000));
    bad++;
    continue;
  }
  writeFileSync(path, src.replace(c.from, c.to));
  const m = vitest(c.tests);
  writeFileSync(path, src);
  const caught = m.code !== 0;
  if (!caught) bad++;
  rows.push(`| ${c.n} | ${c.why} | \`${c.file}\` | ${c.tests.map((t) => `\`${t.split("/").pop()}\``).join(", ")} | ${caught ? `caught (${m.failed} failing)` : "**NOT caught**"} |`);
  process.stderr.write(`${c.n}: ${caught ? "caught" : "NOT caught"}\n`);
}
console.log("| # | mutation | file | tests | result |\n|---|---|---|---|---|");
for (const r of rows) console.log(r);
rmSync(copy, { recursive: true, force: true });
process.exit(bad === 0 ? 0 : 1);
