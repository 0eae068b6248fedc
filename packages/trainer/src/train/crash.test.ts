import { type ChildProcess, spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { LATEST_FILE, listCheckpoints, loadCheckpoint } from "../checkpoint/checkpoint.js";
import { cleanup, quiet, SMALL, tmp, trainLosses } from "../testing/pretrain-fixtures.js";
import { pretrain } from "./pretrain.js";

// Crash test (#11): `mosaicbert pretrain` (the real CLI, TypeScript sources) in a child process is
// killed with SIGKILL at seeded random moments — while a checkpoint is being written, and at random
// times between checkpoints — and restarted with `--resume auto` each time. After every kill, every
// checkpoint folder on disk must be complete and loadable; at the end, the weights and optimizer state
// must be byte-identical to an uninterrupted run. CRASH_KILLS (default 2) sets the number of kills:
// `CRASH_KILLS=10 npx vitest run packages/trainer/src/train/crash.test.ts` is the full form.

afterAll(cleanup);

const KILLS = Number(process.env.CRASH_KILLS ?? 2);
const STEPS = Number(process.env.CRASH_STEPS ?? 6);
const here = fileURLToPath(new URL(".", import.meta.url));
const CLI = path.join(here, "../cli.ts");
const HOOKS = path.join(here, "../from-source/register-ts.mjs");
const ARGS = ["--config", "tiny-cpu", "--device", "cpu", "--max-duration", `${STEPS}ba`, ...[...SMALL, "save_interval=1ba", "save_num_checkpoints_to_keep=-1"].flatMap((s) => ["--set", s])];

/** Small seeded PRNG (mulberry32) so the kill schedule is reproducible. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const tmpDirs = (folder: string): string[] => {
  const root = path.join(folder, "checkpoints");
  return fs.existsSync(root) ? fs.readdirSync(root).filter((n) => n.startsWith(".tmp-")) : [];
};

/** Every checkpoint folder present is complete and loadable, and `latest` (if any) names one of them. */
function assertNoHalfWrittenCheckpoint(folder: string): number {
  const root = path.join(folder, "checkpoints");
  const named = fs.existsSync(root) ? fs.readdirSync(root).filter((n) => !n.startsWith(".")) : [];
  const complete = listCheckpoints(folder);
  expect(named.sort()).toEqual(complete.map((c) => c.name).sort());
  for (const c of complete) {
    const ck = loadCheckpoint(c.dir);
    expect(ck.state.step).toBe(c.step);
    expect(ck.tensors.size).toBeGreaterThan(0);
    expect(ck.optimizer.m.length).toBeGreaterThan(0);
  }
  const latest = path.join(folder, LATEST_FILE);
  if (fs.existsSync(latest)) {
    const rel = fs.readFileSync(latest, "utf8").trim();
    expect(complete.map((c) => `checkpoints/${c.name}`)).toContain(rel);
  }
  return complete.length ? complete[complete.length - 1]!.step : 0;
}

type Moment = "checkpoint-write" | "random";

/**
 * Starts the CLI with --resume auto and SIGKILLs it at the chosen moment: as soon as a checkpoint temp
 * folder appears (mid-write), or a random delay after the next step's checkpoint lands. Resolves with
 * how the process ended and whether the kill hit a write in progress.
 */
function runAndKill(folder: string, moment: Moment | null, delayMs: number): Promise<{ code: number | null; signal: string | null; midWrite: boolean; stderr: string }> {
  return new Promise((resolve, reject) => {
    const before = listCheckpoints(folder).at(-1)?.step ?? 0;
    const p: ChildProcess = spawn(process.execPath, ["--import", HOOKS, CLI, "pretrain", ...ARGS, "--save-folder", folder, "--resume", "auto"], { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    p.stderr!.on("data", (d) => (stderr += String(d)));
    let midWrite = false;
    let armedAt = 0;
    const timer = moment === null ? null : setInterval(() => {
      if (p.exitCode !== null || p.signalCode !== null) return;
      if (moment === "checkpoint-write") {
        if (tmpDirs(folder).length > 0) {
          midWrite = true;
          p.kill("SIGKILL");
        }
      } else if (armedAt === 0) {
        if ((listCheckpoints(folder).at(-1)?.step ?? 0) > before) armedAt = Date.now();
      } else if (Date.now() - armedAt >= delayMs) {
        midWrite = tmpDirs(folder).length > 0;
        p.kill("SIGKILL");
      }
    }, 2);
    p.on("error", reject);
    p.on("exit", (code, signal) => {
      if (timer) clearInterval(timer);
      resolve({ code, signal, midWrite, stderr });
    });
  });
}

describe("kill -9 during pretraining, resume with --resume auto: nothing is lost", () => {
  it(`${KILLS} SIGKILLs (mid checkpoint write and at random times), final weights byte-identical to an uninterrupted run`, async () => {
    // Reference: the same recipe, uninterrupted, in this process.
    const ref = tmp();
    const a = await pretrain({ config: "tiny-cpu", overrides: [...SMALL, "save_interval=1ba", "save_num_checkpoints_to_keep=-1"], maxDuration: `${STEPS}ba`, device: "cpu", saveFolder: ref, handleSignals: false, stderr: quiet });
    expect(a.status).toBe("completed");

    const run = tmp();
    const random = rng(Number(process.env.CRASH_SEED ?? 11));
    const kills: Array<{ moment: Moment; delayMs: number; stepAfter: number; midWrite: boolean }> = [];
    for (let k = 0; k < KILLS; k++) {
      const moment: Moment = k % 2 === 0 ? "checkpoint-write" : "random";
      const delayMs = Math.floor(random() * 400);
      const r = await runAndKill(run, moment, delayMs);
      if (r.code === 0) break; // finished before the kill landed (the schedule ran past the last step)
      expect(r.signal, r.stderr).toBe("SIGKILL");
      kills.push({ moment, delayMs, stepAfter: assertNoHalfWrittenCheckpoint(run), midWrite: r.midWrite });
    }
    // Resume to the end.
    const last = await runAndKill(run, null, 0);
    expect(last.code, last.stderr).toBe(0);
    expect(assertNoHalfWrittenCheckpoint(run)).toBe(STEPS);

    expect(kills.length).toBeGreaterThanOrEqual(Math.min(KILLS, 2));
    // The first kill was timed on a checkpoint temp folder: it hit a write in progress.
    expect(kills[0]!.midWrite).toBe(true);
    const name = listCheckpoints(ref).at(-1)!.name;
    expect(listCheckpoints(run).at(-1)!.name).toBe(name);
    for (const f of ["model.safetensors", "optimizer.safetensors", "config.json"]) {
      const same = Buffer.compare(fs.readFileSync(path.join(ref, "checkpoints", name, f)), fs.readFileSync(path.join(run, "checkpoints", name, f)));
      expect(same, f).toBe(0);
    }
    expect(trainLosses(run)).toEqual(trainLosses(ref));
    process.stderr.write(`crash test: ${JSON.stringify(kills)}\n`);
  });
});
