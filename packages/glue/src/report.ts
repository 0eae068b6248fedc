import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { GlueReport, TaskReport } from "./run-glue.js";
import { TASKS } from "./tasks.js";

const f2 = (x: number | undefined): string => (x === undefined || !Number.isFinite(x) ? "–" : x.toFixed(2));

function metricsCell(r: TaskReport): string {
  if (!r.metrics) return "";
  const parts: string[] = [];
  for (const [ev, ms] of Object.entries(r.metrics)) {
    const label = ev.replace(/^glue_/, "");
    parts.push(`${label}: ${Object.entries(ms).map(([m, v]) => `${m} ${f2(v)}`).join(", ")}`);
  }
  return parts.join("; ");
}

function statusCell(r: TaskReport): string {
  if (r.status === "ran") return r.dataStatus === "complete" ? "ran" : `ran (${r.dataStatus} data)`;
  if (r.status === "failed") return "**failed**";
  return `**skipped** (${r.dataStatus})`;
}

/** The report as a markdown table (one row per task, the GLUE average, then notes per task). */
export function renderMarkdown(rep: GlueReport): string {
  const lines: string[] = [];
  lines.push("## GLUE results", "");
  lines.push(`Model: ${rep.model} (${rep.arch}) · device: ${rep.device} · data: ${rep.dataDir}`, "");
  lines.push("| task | score | ± std | seeds | metrics (dev, ×100) | start | status |");
  lines.push("|---|---:|---:|---:|---|---|---|");
  for (const r of rep.tasks) {
    const seeds = r.seeds.length ? String(r.seeds.length) : "";
    lines.push(`| ${r.name} | ${f2(r.score)} | ${r.seeds.length > 1 ? f2(r.std) : ""} | ${seeds} | ${metricsCell(r)} | ${r.startFrom ?? ""} | ${statusCell(r)} |`);
  }
  lines.push("");
  if (rep.average) {
    const avg = rep.average;
    const missing = avg.missing.map((t) => TASKS[t].displayName).join(", ");
    lines.push(
      avg.complete
        ? `**GLUE average: ${f2(avg.score)}** (unweighted mean of the 8 task scores)`
        : `**GLUE average over ${avg.tasks.length} of 8 tasks: ${f2(avg.score)}** — not the GLUE score (missing: ${missing})`,
    );
  } else {
    lines.push("**No task ran**: no GLUE average.");
  }
  if (rep.caps.length) lines.push("", `Departures from the recipe: ${rep.caps.join(", ")}.`);
  lines.push(
    "",
    rep.comparable
      ? "All data complete, reference hyperparameters: comparable to the reference's GLUE numbers."
      : "Not comparable to the reference's numbers (see notes: partial or missing data, capped runs, or no pretrained weights).",
  );
  const notes = rep.tasks.filter((r) => r.notes.length || r.error);
  if (notes.length || rep.warnings.length) {
    lines.push("", "Notes:");
    for (const r of notes) {
      for (const n of r.notes) lines.push(`- ${r.name}: ${n}`);
      if (r.error) lines.push(`- ${r.name}: error — ${r.error}`);
    }
    for (const w of rep.warnings) lines.push(`- model: ${w}`);
  }
  return `${lines.join("\n")}\n`;
}

/** Writes `glue-report.json` and `glue-report.md` into outDir (created if needed); returns their paths. */
export function writeReport(rep: GlueReport, outDir: string): { json: string; markdown: string } {
  mkdirSync(outDir, { recursive: true });
  const json = join(outDir, "glue-report.json");
  const markdown = join(outDir, "glue-report.md");
  writeFileSync(json, `${JSON.stringify(rep, null, 2)}\n`);
  writeFileSync(markdown, renderMarkdown(rep));
  return { json, markdown };
}
