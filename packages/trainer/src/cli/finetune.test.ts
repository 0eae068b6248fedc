import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { FINETUNE_RESULTS_FILE, FINETUNE_STATE_DIR } from "../finetune/run.js";
import { tinyModelFolder } from "../testing/tiny-model.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const HOOKS = path.join(here, "../from-source/register-ts.mjs");
const CLI = path.join(here, "../cli.ts");
const SST2 = fileURLToPath(new URL("../../../../../shared/data/glue/SST-2/train.tsv", import.meta.url));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "finetune-cli-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));


/**
 * `mosaicbert finetune …` from source in a child process; `signal` is sent once stderr shows that the
 * first optimizer step was reported (the epoch's progress line).
 */
function finetuneCli(args: string[], signal?: NodeJS.Signals): Promise<{ code: number | null; stderr: string; signalledAfterMs: number | null }> {
  return new Promise((resolve, reject) => {
    const p = spawn(process.execPath, ["--import", HOOKS, CLI, "finetune", ...args], { stdio: ["ignore", "ignore", "pipe"], env: { ...process.env, MOSAICBERT_DEBUG: "" } });
    let stderr = "";
    let sentAt: number | null = null;
    p.stderr.on("data", (c: Buffer) => {
      stderr += String(c);
      if (signal && sentAt === null && /epoch 1\/\d+ \[/.test(stderr)) {
        sentAt = performance.now();
        p.kill(signal);
      }
    });
    p.on("error", reject);
    p.on("close", (code) => resolve({ code, stderr, signalledAfterMs: sentAt === null ? null : performance.now() - sentAt }));
  });
}

describe("mosaicbert finetune: SIGTERM / SIGINT stop at a step boundary with a resumable state", () => {
  it("exits 143 / 130 after saving the step reached, says how to continue, and --resume ends as an uninterrupted run", async () => {
    const model = tinyModelFolder(path.join(tmp, "tiny"));
    // Real SST-2 rows: 240 training rows (3 epochs × 30 steps of 8), 32 eval rows.
    const rows = fs.readFileSync(SST2, "utf8").trim().split("\n").slice(1).map((l) => l.split("\t") as [string, string]);
    const train = path.join(tmp, "train.tsv");
    const evalFile = path.join(tmp, "eval.tsv");
    fs.writeFileSync(train, `sentence\tlabel\n${rows.slice(0, 240).map((r) => r.join("\t")).join("\n")}\n`);
    fs.writeFileSync(evalFile, `sentence\tlabel\n${rows.slice(5000, 5032).map((r) => r.join("\t")).join("\n")}\n`);
    const args = (out: string) => ["--model", model, "--train", train, "--eval", evalFile, "--out", out, "--device", "cpu", "--epochs", "3", "--batch-size", "8", "--lr", "1e-3", "--max-seq-len", "32"];
    const out = path.join(tmp, "run");

    const t = await finetuneCli(args(out), "SIGTERM");
    expect(t.code, t.stderr).toBe(143);
    expect(t.stderr).toMatch(/SIGTERM: finishing the current step, then writing a checkpoint and stopping/);
    expect(t.stderr).toMatch(/finetune: stopped; the state at step (\d+) of 90 is in /);
    expect(t.stderr).toContain(`mosaicbert: finetune: interrupted (SIGTERM); the state is in ${out}/${FINETUNE_STATE_DIR}: run the same command with --resume to continue`);
    const termStep = Number(/the state at step (\d+) of 90/.exec(t.stderr)![1]);
    expect(termStep).toBeGreaterThanOrEqual(1);
    expect(termStep).toBeLessThan(90);
    // Stopped promptly (not at the end of the run): well under the run's length.
    expect(t.signalledAfterMs!).toBeLessThan(20_000);
    expect(fs.existsSync(path.join(out, FINETUNE_STATE_DIR))).toBe(true);
    expect(fs.existsSync(path.join(out, FINETUNE_RESULTS_FILE))).toBe(false);

    // Resumed, then Ctrl-C: 130, from a later step.
    const i = await finetuneCli([...args(out), "--resume"], "SIGINT");
    expect(i.code, i.stderr).toBe(130);
    expect(i.stderr).toMatch(new RegExp(`resuming at step ${termStep} of 90`));
    const intStep = Number(/the state at step (\d+) of 90/.exec(i.stderr)![1]);
    expect(intStep).toBeGreaterThan(termStep);
    expect(i.stderr).toContain("mosaicbert: finetune: interrupted (SIGINT)");

    // --resume runs to the end: the results and weights of an uninterrupted run.
    const r = await finetuneCli([...args(out), "--resume"]);
    expect(r.code, r.stderr).toBe(0);
    const whole = path.join(tmp, "whole");
    const w = await finetuneCli(args(whole));
    expect(w.code, w.stderr).toBe(0);
    const results = (dir: string) => JSON.parse(fs.readFileSync(path.join(dir, FINETUNE_RESULTS_FILE), "utf8"));
    const a = results(whole);
    const b = results(out);
    expect(b.resumedFrom).toBe(intStep);
    expect(b.steps).toBe(90);
    expect(b.history).toEqual(a.history);
    expect(fs.readFileSync(path.join(out, "model.safetensors")).equals(fs.readFileSync(path.join(whole, "model.safetensors")))).toBe(true);
    expect(fs.existsSync(path.join(out, FINETUNE_STATE_DIR))).toBe(false);
  }, 300_000);
});
