#!/usr/bin/env node
// Turns the files fetched from the GPU machine (results-<model>.tar.gz from scripts/results/device-run.sh)
// into the results page: the Pareto plots (`mosaicbert plot`), the GLUE table, tokens/s and MFU per run,
// the exact commands. Only what is in those files is reported; nothing is typed in by hand.
//
//   node scripts/results/make-report.mjs --in <folder with results-*.tar.gz> --out docs/results.md
//        [--cli .results-build/dist/mosaicbert.mjs] [--call "<the run tool's command>"] [--carry ".device .results-build .results-data"]
// Writes OUT and, beside it, OUT-without-.md/ (pareto-mlm.svg/.png, pareto-tokens.svg/.png,
// pareto-glue.svg/.png and runs/<model>/ with the metrics, GLUE reports and commands it was made from).
import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";

const MODELS = ["mosaic-bert-base", "bert-base"];
const LABEL = { "mosaic-bert-base": "MosaicBERT-base", "bert-base": "BERT-base" };
const TASK_ORDER = ["cola", "sst2", "mrpc", "stsb", "qnli", "rte"];
// The quality anchors of ../shared/bench/README.md (reference PyTorch models, one H200, same corpus).
const ANCHORS = [
  { name: "MosaicBERT-base, mosaicml reference (PyTorch, compiled)", steps: [[500, 0.292], [1000, 0.342], [2000, 0.392]], secs: 193, tps: 339e3 },
  { name: "HF BERT-base (SDPA, compiled)", steps: [[500, 0.132], [1000, 0.138], [2000, 0.235]], secs: 129, tps: 507e3 },
];

function parseArgs(argv) {
  const a = { cli: null, call: null, carry: ".device .results-build .results-data" };
  for (let i = 0; i < argv.length; i += 2) {
    const k = argv[i], v = argv[i + 1];
    if (v === undefined) throw new Error(`make-report: ${k} needs a value`);
    if (k === "--in") a.in = v;
    else if (k === "--out") a.out = v;
    else if (k === "--cli") a.cli = v;
    else if (k === "--call") a.call = v;
    else if (k === "--carry") a.carry = v;
    else if (k === "--allow-cpu") a.allowCpu = v === "yes";
    else throw new Error(`make-report: unknown option ${k} (expected --in, --out, --cli, --call, --carry)`);
  }
  if (!a.in || !a.out) throw new Error("make-report: usage: --in DIR --out FILE.md [--cli mosaicbert.mjs] [--call CMD] [--carry PATHS]");
  if (!a.out.endsWith(".md")) throw new Error(`make-report: --out ${a.out}: expected a .md file`);
  if (!fs.existsSync(a.in)) throw new Error(`make-report: --in ${a.in}: no such folder`);
  return a;
}

const readJson = (f) => JSON.parse(fs.readFileSync(f, "utf8"));
const readJsonl = (f) =>
  fs.readFileSync(f, "utf8").split("\n").filter((l) => l.trim()).map((l, i) => {
    try {
      return JSON.parse(l);
    } catch (e) {
      throw new Error(`${f}:${i + 1}: not JSON: ${e.message}`);
    }
  });
const median = (xs) => {
  if (!xs.length) return null;
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};
const f = (x, d = 1) => (x === null || x === undefined || !Number.isFinite(x) ? "–" : x.toFixed(d));
const pct = (x, d = 1) => (x === null || x === undefined || !Number.isFinite(x) ? "–" : `${(100 * x).toFixed(d)}%`);
const kilo = (x) => (x === null || x === undefined || !Number.isFinite(x) ? "–" : x >= 1e4 ? `${(x / 1e3).toFixed(0)} k` : x.toFixed(0));
const count = (x) => (x >= 1e6 ? `${(x / 1e6).toFixed(1)} M` : x >= 1e3 ? `${(x / 1e3).toFixed(1)} k` : String(x));

/** Unpacks every results-<model>.tar.gz of `dir` (or takes <model>/ folders already there) into `runsDir`. */
function collect(dir, runsDir) {
  const found = {};
  for (const m of MODELS) {
    const tgz = path.join(dir, `results-${m}.tar.gz`);
    const target = path.join(runsDir, m);
    if (fs.existsSync(tgz)) {
      fs.rmSync(target, { recursive: true, force: true });
      fs.mkdirSync(target, { recursive: true });
      execFileSync("tar", ["-xzf", tgz, "-C", target]);
      found[m] = target;
    } else if (fs.existsSync(path.join(dir, m, "metrics.jsonl"))) {
      if (path.resolve(dir, m) !== path.resolve(target)) {
        fs.rmSync(target, { recursive: true, force: true });
        fs.cpSync(path.join(dir, m), target, { recursive: true });
      }
      found[m] = target;
    }
  }
  if (!Object.keys(found).length) throw new Error(`make-report: ${dir} holds no results-<model>.tar.gz (${MODELS.join(", ")}) nor <model>/metrics.jsonl`);
  return found;
}

/** The pretraining run of one model: its curve and speed, from metrics.jsonl. */
function summarizeRun(m, dir) {
  const recs = readJsonl(path.join(dir, "metrics.jsonl"));
  const start = recs.find((r) => r.type === "run" && r.event === "start") ?? recs.find((r) => r.type === "run" && r.recipe);
  const train = recs.filter((r) => r.type === "train");
  const evals = recs.filter((r) => r.type === "eval" && Number.isFinite(r.mlm_accuracy));
  const ends = recs.filter((r) => r.type === "run" && (r.event === "end" || r.event === "stop"));
  const resumes = recs.filter((r) => r.type === "run" && r.event === "resume").length;
  const last = train.at(-1);
  // Speed over the steady state: the speed monitor's window values after the first 10% of the steps.
  const steady = train.filter((r) => r.step > Math.max(1, 0.1 * (last?.step ?? 0)));
  const tps = median(steady.map((r) => r.tokens_per_sec).filter((x) => Number.isFinite(x) && x > 0));
  const mfu = median(steady.map((r) => r.mfu).filter((x) => Number.isFinite(x)));
  const params = start?.parameters ?? null;
  const recipe = start?.recipe ?? null;
  const state = fs.existsSync(path.join(dir, "latest")) ? path.join(dir, fs.readFileSync(path.join(dir, "latest"), "utf8").trim(), "trainer_state.json") : null;
  return {
    model: m,
    label: LABEL[m],
    runName: start?.run_name ?? m,
    device: start?.device ?? null,
    params,
    recipe,
    steps: last?.step ?? 0,
    tokens: last?.tokens ?? 0,
    samples: last?.samples ?? 0,
    trainSeconds: last?.time ?? null,
    endTime: ends.at(-1)?.time ?? last?.time ?? null,
    status: ends.at(-1)?.status ?? ends.at(-1)?.event ?? "unknown",
    resumes,
    tps,
    tpsOverall: last && last.time > 0 ? last.tokens / last.time : null,
    mfu,
    // The anchors' definition: 6 × parameters × tokens/s (all 128 positions) / 989 TFLOP/s.
    mfu6N: tps && params ? (6 * params * tps) / 989e12 : null,
    evals: evals.map((r) => ({ step: r.step, time: r.time, acc: r.mlm_accuracy, loss: r.loss })),
    finalLoss: last?.loss ?? null,
    state: state && fs.existsSync(state) ? readJson(state) : null,
  };
}

/** Seconds of training after which the curve first reaches `acc` (linear between evaluations), or null. */
function timeToReach(evals, acc) {
  for (let i = 0; i < evals.length; i++) {
    const e = evals[i];
    if (e.acc >= acc) {
      if (i === 0) return e.time;
      const p = evals[i - 1];
      return p.time + ((acc - p.acc) / (e.acc - p.acc)) * (e.time - p.time);
    }
  }
  return null;
}

/** GLUE reports of one model, one per task folder. */
function readGlue(dir) {
  const out = {};
  const root = path.join(dir, "glue");
  if (!fs.existsSync(root)) return out;
  for (const t of fs.readdirSync(root)) {
    const f = path.join(root, t, "glue-report.json");
    if (!fs.existsSync(f)) continue;
    const rep = readJson(f);
    for (const task of rep.tasks) out[task.task] = { task, caps: rep.caps, comparable: rep.comparable, device: rep.device, options: rep.options };
  }
  return out;
}

function plot(cli, runs, x, y, out, title) {
  const args = [cli, "plot", "--runs", ...runs, "--x", x, "--y", y, "--out", out, "--title", title];
  try {
    execFileSync(process.execPath, args, { stdio: ["ignore", "pipe", "pipe"] });
    return true;
  } catch (e) {
    process.stderr.write(`make-report: plot ${y} vs ${x} failed: ${e.stderr?.toString().trim() || e.message}\n`);
    return false;
  }
}

function main() {
  const a = parseArgs(process.argv.slice(2));
  const root = path.resolve(path.dirname(new URL(import.meta.url).pathname), "../..");
  const cli = a.cli ?? [path.join(root, ".results-build/dist/mosaicbert.mjs"), path.join(root, "packages/trainer/dist/cli.js")].find((p) => fs.existsSync(p));
  if (!cli) throw new Error("make-report: no mosaicbert CLI found: run scripts/results/bundle.sh (or pnpm build), or pass --cli");
  const outMd = path.resolve(a.out);
  const assets = outMd.slice(0, -3);
  const assetsRel = path.basename(assets);
  // Unpacked into a temporary folder first: nothing is written beside --out unless the page can be made.
  fs.mkdirSync(path.dirname(outMd), { recursive: true });
  const tmp = fs.mkdtempSync(path.join(path.dirname(outMd), ".make-report-"));
  let dirs;
  try {
    dirs = collect(path.resolve(a.in), tmp);
  } catch (e) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  const present = MODELS.filter((m) => dirs[m]);
  const deviceOf = (m) => (fs.existsSync(path.join(dirs[m], "device.json")) ? readJson(path.join(dirs[m], "device.json")) : {});
  const notCuda = present.filter((m) => deviceOf(m).device !== "cuda");
  if (notCuda.length && !a.allowCpu && outMd === path.join(root, "docs", "results.md")) {
    fs.rmSync(tmp, { recursive: true, force: true });
    throw new Error(`make-report: ${notCuda.join(", ")} did not run on CUDA: docs/results.md holds GPU figures only (write elsewhere, or pass --allow-cpu yes)`);
  }
  const runsDir = path.join(assets, "runs");
  fs.mkdirSync(assets, { recursive: true });
  fs.rmSync(runsDir, { recursive: true, force: true });
  fs.renameSync(tmp, runsDir);
  for (const m of present) dirs[m] = path.join(runsDir, m);
  const runs = Object.fromEntries(present.map((m) => [m, summarizeRun(m, dirs[m])]));
  const glue = Object.fromEntries(present.map((m) => [m, readGlue(dirs[m])]));
  const device = Object.fromEntries(present.map((m) => [m, deviceOf(m)]));
  for (const m of present) if (device[m].device !== "cuda") runs[m].mfu6N = null;
  const corpusFile = present.map((m) => path.join(dirs[m], "corpus.json")).find((p) => fs.existsSync(p));
  const corpus = corpusFile ? readJson(corpusFile) : null;

  // GLUE averages as `glue` records beside each run's metrics, so `mosaicbert plot --y glue` can draw them.
  const glueAvg = {};
  for (const m of present) {
    const scores = TASK_ORDER.map((t) => glue[m][t]?.task).filter((t) => t && t.status === "ran" && Number.isFinite(t.score)).map((t) => t.score);
    glueAvg[m] = scores.length ? { score: scores.reduce((x, y) => x + y, 0) / scores.length, n: scores.length } : null;
    const g = path.join(dirs[m], "glue.jsonl");
    if (glueAvg[m] && runs[m].steps) fs.writeFileSync(g, JSON.stringify({ type: "glue", step: runs[m].steps, time: runs[m].trainSeconds, glue: glueAvg[m].score, tasks: glueAvg[m].n }) + "\n");
    else fs.rmSync(g, { force: true });
  }

  // ---- plots ----
  const runDirs = present.map((m) => dirs[m]);
  const plots = [];
  if (plot(cli, runDirs, "wallclock", "mlm_accuracy", path.join(assets, "pareto-mlm.svg"), "MLM accuracy (held-out, 15% masking) vs training wall clock")) plots.push(["pareto-mlm", "MLM accuracy against wall clock (hours; x is training time, evaluation included)"]);
  if (plot(cli, runDirs, "tokens", "mlm_accuracy", path.join(assets, "pareto-tokens.svg"), "MLM accuracy vs tokens seen")) plots.push(["pareto-tokens", "MLM accuracy against tokens seen"]);
  const glueRuns = present.filter((m) => glueAvg[m]).map((m) => dirs[m]);
  if (glueRuns.length && plot(cli, glueRuns, "wallclock", "glue", path.join(assets, "pareto-glue.svg"), "GLUE average (6 tasks, capped) vs pretraining wall clock")) plots.push(["pareto-glue", "GLUE average of the six tasks against pretraining wall clock"]);

  // ---- page ----
  const L = [];
  const gpu = present.map((m) => device[m].gpu).find(Boolean) || present.map((m) => runs[m].device).find(Boolean) || "unknown device";
  const isCuda = notCuda.length === 0;
  const mins = present.map((m) => device[m].env?.RESULTS_MINUTES).find(Boolean);
  L.push(`# Results: MosaicBERT-base vs BERT-base, same data, same wall clock`, "");
  L.push(
    `Pretrained from scratch on ${gpu}${isCuda ? "" : " (**not a GPU run**)"} for ${mins ? `${mins} minutes` : "the same time"} of wall clock each, then fine-tuned on six GLUE tasks. ` +
      `Every number below comes from the files the runs wrote (\`${assetsRel}/runs/\`), turned into this page by \`scripts/results/make-report.mjs\`. ` +
      `Dates: ${[...new Set(present.map((m) => device[m].date).filter(Boolean))].join(", ") || "unknown"}; code: the CLI bundled from commit ${[...new Set(present.map((m) => device[m].bundle?.commit ?? device[m].commit).filter(Boolean))].join(", ") || "unknown"}` +
      `${present.some((m) => device[m].bundle?.uncommitted?.length) ? ` plus uncommitted changes to ${[...new Set(present.flatMap((m) => device[m].bundle?.uncommitted ?? []))].join(", ")}` : ""}.`,
    "",
  );
  if (!isCuda) L.push("> **This page was made from CPU runs (a toy-scale check of the pipeline), not from GPU runs.**", "");
  L.push(`**Scale, honestly.** This is the paper's comparison at toy scale: minutes on ${isCuda ? "one GPU" : "a CPU"} instead of 70,000 steps of 4,096 sequences ` +
    `on 8 A100s; a ${corpus ? `${count(corpus.word_pieces)}-token` : "small"} English corpus instead of C4; GLUE fine-tuning capped to a time budget with one seed, ` +
    "QNLI trained on a 320-row sample of its training set, and RTE/MRPC/STS-B started from the pretrained weights rather than from MNLI. " +
    "The GLUE numbers are therefore far below published ones and not comparable to them; what the page measures is which model gets further in the same time.", "");
  const precisionOf = (m, c) => (runs[m].device && /^cpu/.test(runs[m].device) && c.precision === "amp_bf16" ? "fp32 (amp_bf16 is the CUDA path)" : c.precision);

  // Setup
  L.push("## Setup", "");
  if (corpus) {
    L.push(`- **Corpus**: \`${corpus.source}\` (${(corpus.source_bytes / 1e6).toFixed(1)} MB, md5 \`${corpus.source_md5}\`${corpus.slice_bytes ? `, first ${corpus.slice_bytes} bytes only` : ""}), ` +
      `${(corpus.word_pieces / 1e6).toFixed(1)} M bert-base-uncased word pieces cut into ${corpus.documents.toLocaleString("en")} documents of ${corpus.pieces_per_document} pieces ` +
      `([CLS] + ${corpus.pieces_per_document} + [SEP] = one full 128-token row each); the last ${corpus.val_documents} documents are held out for evaluation, ${corpus.train_documents.toLocaleString("en")} train. ` +
      `${(100 * corpus.pieces_lost_at_cuts / corpus.word_pieces).toFixed(1)}% of the pieces (the tails of words cut at row ends) are not trained on.`);
  }
  for (const m of present) {
    const r = runs[m];
    const c = r.recipe;
    if (!c) continue;
    const clip = c.algorithms?.gradient_clipping ? `, gradient clipping ${c.algorithms.gradient_clipping.clipping_threshold}` : "";
    L.push(`- **${r.label}** (\`--config ${m}\`, ${r.params ? `${(r.params / 1e6).toFixed(1)} M parameters` : ""}): batch ${c.global_train_batch_size} × ${c.max_seq_len} (microbatch ${c.device_train_microbatch_size}), ` +
      `${c.optimizer?.name} lr ${c.optimizer?.lr}, betas ${JSON.stringify(c.optimizer?.betas)}, weight decay ${c.optimizer?.weight_decay}, ` +
      `${c.scheduler?.name} (warmup ${c.scheduler?.t_warmup}, to ${c.scheduler?.alpha_f}×lr) over a time box of ${c.max_duration}${clip}, ` +
      `training masking ${c.mlm_probability * 100}%, evaluation masking ${c.eval_loader?.dataset?.mlm_probability * 100}% on the whole held-out split every ${c.eval_interval}, ${precisionOf(m, c)}; device ${runs[m].device ?? "unknown"}.`);
  }
  L.push("");

  // Quality vs time
  L.push("## MLM accuracy against wall clock", "");
  for (const [name, caption] of plots) L.push(`![${caption}](${assetsRel}/${name}.png)`, "", `*${caption}.* ([SVG](${assetsRel}/${name}.svg))`, "");
  const steps = [...new Set(present.flatMap((m) => runs[m].evals.map((e) => e.step)))].sort((x, y) => x - y);
  L.push(`| step | ${present.map((m) => `${runs[m].label} time (s) | accuracy | loss`).join(" | ")} |`);
  L.push(`|---:|${present.map(() => "---:|---:|---:").join("|")}|`);
  for (const s of steps) {
    L.push(`| ${s} | ${present.map((m) => {
      const e = runs[m].evals.find((x) => x.step === s);
      return e ? `${f(e.time, 0)} | ${f(e.acc, 4)} | ${f(e.loss, 3)}` : "| |";
    }).join(" | ")} |`);
  }
  L.push("");
  const mo = runs["mosaic-bert-base"], bo = runs["bert-base"];
  if (mo && bo && mo.evals.length && bo.evals.length) {
    const bertFinal = bo.evals.at(-1).acc;
    const t = timeToReach(mo.evals, bertFinal);
    L.push(`Final held-out MLM accuracy: ${mo.label} **${f(mo.evals.at(-1).acc, 4)}** after ${f(mo.evals.at(-1).time, 0)} s, ${bo.label} **${f(bertFinal, 4)}** after ${f(bo.evals.at(-1).time, 0)} s. ` +
      (t !== null && t === mo.evals[0].time
        ? `${mo.label} was past ${bo.label}'s final accuracy already at its first evaluation (${f(t, 0)} s): **≥ ${f(bo.evals.at(-1).time / t, 1)}×** sooner.`
        : t !== null
        ? `${mo.label} reached ${bo.label}'s final accuracy after ${f(t, 0)} s (linear between evaluations): **${f(bo.evals.at(-1).time / t, 1)}×** sooner.`
        : `${mo.label} did not reach ${bo.label}'s final accuracy in its budget.`), "");
  }
  L.push("For reference, the quality anchors of `../shared/bench` (PyTorch reference models on one H200, the same corpus cut into the same 128-token rows, batch 256, lr 5e-4, warmup 6%, clip 1.0; their time excludes evaluation):", "");
  L.push("| model | acc @ 500 steps | @ 1000 | @ 2000 | train s @ 2000 | tokens/s |", "|---|---:|---:|---:|---:|---:|");
  for (const an of ANCHORS) L.push(`| ${an.name} | ${an.steps.map(([, v]) => f(v, 3)).join(" | ")} | ${an.secs} | ${kilo(an.tps)} |`);
  for (const m of present) {
    const at = (s) => runs[m].evals.find((e) => e.step === s)?.acc ?? null;
    const e2000 = runs[m].evals.find((e) => e.step === 2000);
    L.push(`| ours: ${runs[m].label} | ${f(at(500), 3)} | ${f(at(1000), 3)} | ${f(at(2000), 3)} | ${e2000 ? f(e2000.time, 0) : "–"} | ${kilo(runs[m].tps)} |`);
  }
  L.push("", "(A dash: the run did not evaluate at that step, or did not get that far.)", "");

  // Throughput
  L.push("## Throughput", "");
  L.push("| run | steps | tokens | training wall clock | tokens/s (steady) | tokens/s (whole run) | MFU (trainer) | MFU (6·N·tokens/s) | end |");
  L.push("|---|---:|---:|---:|---:|---:|---:|---:|---|");
  for (const m of present) {
    const r = runs[m];
    L.push(`| ${r.label} | ${r.steps} | ${count(r.tokens)} | ${f(r.trainSeconds, 0)} s${r.resumes ? ` (${r.resumes} resume${r.resumes > 1 ? "s" : ""})` : ""} | ${kilo(r.tps)} | ${kilo(r.tpsOverall)} | ${pct(r.mfu)} | ${pct(r.mfu6N)} | ${r.status} |`);
  }
  L.push("",
    `tokens/s counts every position of the ${present.map((m) => runs[m].recipe?.global_train_batch_size).find(Boolean) ?? "?"} × 128 batch, as the paper and the anchors do (here nearly all positions are real tokens). ` +
      "*Steady*: the median of the trainer's speed window (50 steps) after the first 10% of the steps; *whole run*: tokens over the wall clock including evaluations and data loading. " +
      "*MFU (trainer)*: model FLOPs of the work actually done (MosaicBERT's unpadded tokens, attention Σ s², the MLM head on the predicted positions only) over 989 TFLOP/s (H200 dense bf16); " +
      "*MFU (6·N·tokens/s)*: the anchors' formula, for comparison with their table.", "");

  // GLUE
  L.push("## GLUE (dev sets)", "");
  const tasksSeen = TASK_ORDER.filter((t) => present.some((m) => glue[m][t]));
  if (!tasksSeen.length) L.push("No GLUE report was found in the fetched files.", "");
  else {
    L.push(`| task | metric | ${present.map((m) => `${runs[m].label} | steps | s`).join(" | ")} |`);
    L.push(`|---|---|${present.map(() => "---:|---:|---:").join("|")}|`);
    for (const t of tasksSeen) {
      const any = present.map((m) => glue[m][t]?.task).find(Boolean);
      const metric = { cola: "MCC", sst2: "accuracy", mrpc: "(acc + F1)/2", stsb: "Spearman", qnli: "accuracy", rte: "accuracy" }[t];
      L.push(`| ${any.name} | ${metric} | ${present.map((m) => {
        const r = glue[m][t]?.task;
        if (!r) return "not run | | ";
        if (r.status !== "ran") return `${r.status} | | `;
        const st = r.seeds.reduce((x, s) => x + s.steps, 0), sec = r.seeds.reduce((x, s) => x + s.seconds, 0);
        return `${f(r.score, 1)}${r.seeds.length > 1 ? ` ± ${f(r.std, 1)}` : ""} | ${st} | ${f(sec, 0)}`;
      }).join(" | ")} |`);
    }
    L.push(`| **average** | | ${present.map((m) => (glueAvg[m] ? `**${f(glueAvg[m].score, 1)}** (${glueAvg[m].n} tasks) | | ` : "– | | ")).join(" | ")} |`, "");
    const notes = new Set();
    for (const m of present) for (const t of tasksSeen) {
      const g = glue[m][t];
      if (!g) continue;
      for (const n of g.task.notes ?? []) notes.add(`${g.task.name}: ${n}`);
      if (g.task.error) notes.add(`${runs[m].label} ${g.task.name}: error — ${g.task.error}`);
      if (g.caps?.length) notes.add(`${runs[m].label} ${g.task.name}: departures from the recipe — ${g.caps.join(", ")}`);
    }
    L.push("Scores ×100 on the dev sets, final evaluation (not the best one), seeds as listed in the reports (one each unless stated). " +
      "Steps per task were capped so that the six tasks fit the time budget (the caps are listed below); a task whose cap is at least the recipe's step count ran the full recipe. " +
      "The average is over these six tasks only: it is not the GLUE score.", "");
    if (notes.size) {
      L.push("<details><summary>Notes from the GLUE reports</summary>", "");
      for (const n of notes) L.push(`- ${n}`);
      L.push("", "</details>", "");
    }
  }

  // Commands
  L.push("## Commands", "");
  L.push("On the development machine (the corpus, the bundled CLI and the carry folders):", "", "```sh",
    "CORPORA_DIR=corpora bash ../shared/corpora/extract.sh",
    "bash ../shared/corpora/make-anchor-corpus.sh corpora > corpora/anchor-corpus.txt",
    "bash scripts/results/prepare.sh          # bundle.sh + prepare-corpus + xz + GLUE files → .results-build/, .results-data/",
    "```", "");
  L.push(`On the GPU machine (the \`run\` tool, carrying \`${a.carry}\`):`, "", "```sh");
  if (a.call) L.push(a.call);
  for (const m of present) {
    const env = device[m].env ?? {};
    const envs = Object.entries(env).filter(([, v]) => v !== "").map(([k, v]) => `${k}=${/\s/.test(v) ? JSON.stringify(v) : v}`).join(" ");
    if (!a.call) L.push(`${envs} bash scripts/results/device-run.sh ${device[m].phase ?? "all"} ${m}`);
  }
  L.push("```", "", "which ran, per model (from each run's `commands.txt`):", "", "```sh");
  for (const m of present) {
    const cf = path.join(dirs[m], "commands.txt");
    if (fs.existsSync(cf)) L.push(...fs.readFileSync(cf, "utf8").trim().split("\n").map((l) => l.replace(/^timeout .*? node \S*mosaicbert\.mjs/, "mosaicbert")));
  }
  L.push("```", "", "Then, back here:", "", "```sh",
    `node scripts/results/make-report.mjs --in <fetched files> --out ${a.out}`, "```", "");
  fs.writeFileSync(outMd, L.join("\n"));
  process.stdout.write(`make-report: wrote ${outMd} (${plots.length} plots in ${assets})\n`);
}

try {
  main();
} catch (e) {
  process.stderr.write(`${e.message}\n`);
  process.exitCode = 1;
}
