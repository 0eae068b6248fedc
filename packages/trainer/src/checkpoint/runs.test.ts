import * as fs from "node:fs";
import { createRequire, syncBuiltinESMExports } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import type { TensorInput } from "@mosaicbert/hub";
import { checkpointName, findLatest, listCheckpoints, loadCheckpoint, saveCheckpoint, type TrainerState } from "./checkpoint.js";
import { claimRun, previousRun, refuseUsedSaveFolder, RUN_FILE } from "./run-folder.js";
import { removeStaleTemps } from "./save-folder.js";
import { quiet, SMALL } from "../testing/pretrain-fixtures.js";
import { pretrain } from "../train/pretrain.js";

const root = fs.mkdtempSync(join(tmpdir(), "ckpt-runs-"));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

const cjsFs = createRequire(import.meta.url)("node:fs") as typeof fs;
const realRm = cjsFs.rmSync;
afterEach(() => {
  cjsFs.rmSync = realRm;
  syncBuiltinESMExports();
});

function payload(step: number, runId?: string) {
  const tensors = new Map<string, TensorInput>([["w", { dtype: "f32", shape: [2], data: Float32Array.of(step, 1) }]]);
  const state: TrainerState = {
    format: "mosaicbert-trainer-state", version: 1, step, samplesSeen: step, tokensSeen: step, loader: { epoch: 0 }, seed: 1,
    elapsedSeconds: 0, worldSize: 1, runName: "t", recipe: {}, lastLoss: null, savedAt: "2026-01-01T00:00:00.000Z", ...(runId ? { runId } : {}),
  };
  return { hfConfig: { model_type: "bert" }, tensors, optimizer: { step, m: [Float32Array.of(0)], v: [Float32Array.of(0)] }, state };
}
const names = (save: string) => listCheckpoints(save).map((c) => c.name);
const save = (dir: string, step: number, keep: number, runId = "run-a") => saveCheckpoint(dir, checkpointName(0, step), payload(step, runId), keep);

describe("checkpoint pruning keeps this run's newest writes", () => {
  it("after a resume from an earlier step, the checkpoints written now survive and `latest`/resume auto follow them", () => {
    const dir = join(root, "resume-earlier");
    for (const s of [10, 12]) save(dir, s, 2);
    // Resumed from a step-5 checkpoint (another copy of this run): by step number ba6 would be pruned
    // as soon as it was written; by write order the oldest write (ba10) goes.
    save(dir, 6, 2);
    expect(names(dir)).toEqual(["ep0-ba6", "ep0-ba12"]);
    expect(findLatest(dir)).toBe(join(dir, "checkpoints", "ep0-ba6"));
    save(dir, 7, 2);
    expect(names(dir)).toEqual(["ep0-ba6", "ep0-ba7"]);
    expect(loadCheckpoint(findLatest(dir)!).state.saveSeq).toBe(4);
  });

  it("`latest` is what resume auto uses, not the highest step; a newer write than `latest` (crash before the pointer moved) wins", () => {
    const dir = join(root, "latest");
    for (const s of [8, 9, 10]) save(dir, s, -1);
    save(dir, 3, -1); // the resumed continuation
    expect(findLatest(dir)).toBe(join(dir, "checkpoints", "ep0-ba3"));
    fs.writeFileSync(join(dir, "latest"), "checkpoints/ep0-ba9\n"); // as if killed before `latest` moved to ba3
    expect(findLatest(dir)).toBe(join(dir, "checkpoints", "ep0-ba3"));
    // Checkpoints written before run ids: the highest step, or what `latest` names.
    const old = join(root, "legacy");
    for (const s of [1, 2]) saveCheckpoint(old, checkpointName(0, s), payload(s), -1);
    for (const s of [1, 2]) {
      const f = join(old, "checkpoints", `ep0-ba${s}`, "trainer_state.json");
      const st = JSON.parse(fs.readFileSync(f, "utf8"));
      delete st.saveSeq;
      fs.writeFileSync(f, JSON.stringify(st));
    }
    expect(findLatest(old)).toBe(join(old, "checkpoints", "ep0-ba2"));
    fs.writeFileSync(join(old, "latest"), "checkpoints/ep0-ba1\n");
    expect(findLatest(old)).toBe(join(old, "checkpoints", "ep0-ba1"));
  });

  it("checkpoints of another run in the folder are never pruned", () => {
    const dir = join(root, "two-runs");
    save(dir, 50, 1, "old-run");
    for (const s of [1, 2, 3]) save(dir, s, 1, "new-run");
    expect(names(dir)).toEqual(["ep0-ba3", "ep0-ba50"]);
  });

  it("a kill mid-prune never leaves a folder under a checkpoint name without its model; the next start clears it", () => {
    const dir = join(root, "kill-prune");
    save(dir, 1, 1);
    // The kill: rmSync dies after deleting model.safetensors of the folder being pruned.
    cjsFs.rmSync = ((p: fs.PathLike, opts?: fs.RmOptions) => {
      if (!String(p).includes(".deleting-")) return realRm(p, opts);
      const m = join(String(p), "model.safetensors");
      if (fs.existsSync(m)) fs.unlinkSync(m);
      throw new Error("killed");
    }) as typeof fs.rmSync;
    syncBuiltinESMExports();
    expect(() => save(dir, 2, 1)).toThrow("killed");
    cjsFs.rmSync = realRm;
    syncBuiltinESMExports();
    expect(names(dir)).toEqual(["ep0-ba2"]);
    const hidden = fs.readdirSync(join(dir, "checkpoints")).filter((n) => n.startsWith(".deleting-ep0-ba1-"));
    expect(hidden).toHaveLength(1);
    expect(fs.existsSync(join(dir, "checkpoints", hidden[0]!, "model.safetensors"))).toBe(false);
    expect(removeStaleTemps(dir)).toEqual([join(dir, "checkpoints", hidden[0]!)]);
    expect(fs.readdirSync(join(dir, "checkpoints"))).toEqual(["ep0-ba2"]);
    // A folder that lost a file some other way is not a checkpoint either.
    fs.rmSync(join(dir, "checkpoints", "ep0-ba2", "model.safetensors"));
    expect(names(dir)).toEqual([]);
    expect(findLatest(dir)).toBeNull();
  });
});

describe("one run per save folder", () => {
  it("a used folder is named with what is in it; claimRun records the run and refuses a checkpoint of another run", () => {
    const dir = join(root, "claim");
    expect(previousRun(dir)).toBeNull();
    expect(() => refuseUsedSaveFolder(dir)).not.toThrow();
    const id = claimRun(dir, { runName: "first" })!;
    expect(JSON.parse(fs.readFileSync(join(dir, RUN_FILE), "utf8"))).toMatchObject({ format: "mosaicbert-run", runId: id, runName: "first" });
    save(dir, 4, -1, id);
    fs.writeFileSync(join(dir, "metrics.jsonl"), "");
    expect(() => refuseUsedSaveFolder(dir)).toThrow(
      new RegExp(`save folder ${dir} already holds run 'first' \\(${id}, started [^)]+\\): 1 checkpoint\\(s\\), the newest checkpoints/ep0-ba4, metrics\\.jsonl\\. One run per save folder: continue that run with --resume auto, or give this run a save folder of its own`),
    );
    expect(claimRun(dir, { runName: "first", resumed: { dir: "x", runId: id } })).toBe(id);
    expect(() => claimRun(dir, { runName: "other", resumed: { dir: "/elsewhere/ep0-ba9", runId: "zzz" } })).toThrow(
      `--resume: checkpoint /elsewhere/ep0-ba9 belongs to run zzz, but save folder ${dir} holds run 'first' (${id})`,
    );
    // Resuming into an empty folder carries the run over.
    expect(claimRun(join(root, "claim-2"), { runName: "first", resumed: { dir: "x", runId: id } })).toBe(id);
    expect(JSON.parse(fs.readFileSync(join(root, "claim-2", RUN_FILE), "utf8")).runId).toBe(id);
  });

  it("pretrain without --resume refuses a used save folder before it builds anything (metrics.jsonl untouched)", async () => {
    const dir = join(root, "pretrain");
    const base = { config: "tiny-cpu", overrides: [...SMALL, "save_interval=1ba", "save_num_checkpoints_to_keep=1"], device: "cpu" as const, handleSignals: false, stderr: quiet };
    const a = await pretrain({ ...base, maxDuration: "2ba", saveFolder: dir });
    expect(a.status).toBe("completed");
    const runId = loadCheckpoint(a.checkpoint!).state.runId;
    expect(runId).toMatch(/^[0-9a-f-]{36}$/);
    const metricsBefore = fs.readFileSync(join(dir, "metrics.jsonl"), "utf8");
    await expect(pretrain({ ...base, maxDuration: "3ba", saveFolder: dir })).rejects.toThrow(/already holds run 'tiny-cpu' .*1 checkpoint\(s\), the newest checkpoints\/ep0-ba2, metrics\.jsonl\. One run per save folder/);
    expect(fs.readFileSync(join(dir, "metrics.jsonl"), "utf8")).toBe(metricsBefore);
    expect(names(dir)).toEqual(["ep0-ba2"]);
  });

  it("--max-duration 0ba is refused before anything is saved", async () => {
    const dir = join(root, "zero");
    await expect(pretrain({ config: "tiny-cpu", overrides: SMALL, maxDuration: "0ba", saveFolder: dir, device: "cpu", handleSignals: false, stderr: quiet })).rejects.toThrow(
      /max_duration: expected a duration above zero \(e\.g\. "1ba"\), got "0ba": nothing would be trained/,
    );
    expect(fs.existsSync(dir)).toBe(false);
  });
});
