import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { readSafetensorsMetadata, writeSafetensors, type TensorInput } from "@mosaicbert/hub";
import { checkpointName, checkpointStates, findLatest, listCheckpoints, loadCheckpoint, removeAtomically, saveCheckpoint, type TrainerState } from "./checkpoint.js";
import { checkSaveFolder, removeStaleTemps } from "./save-folder.js";

const root = mkdtempSync(join(tmpdir(), "ckpt-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function payload(step: number) {
  const w = Float32Array.from({ length: 6 }, (_, i) => i * step + 0.5);
  const tensors = new Map<string, TensorInput>([["bert.embeddings.word_embeddings.weight", { dtype: "f32", shape: [2, 3], data: w }]]);
  const state: TrainerState = {
    format: "mosaicbert-trainer-state", version: 1, step, samplesSeen: 4 * step, tokensSeen: 128 * step,
    loader: { epoch: 0, batchInEpoch: step, samplesSeen: 4 * step }, seed: 17, elapsedSeconds: step / 10, worldSize: 1,
    runName: "t", recipe: { run_name: "t" }, lastLoss: 9.5, savedAt: "2026-01-01T00:00:00.000Z",
  };
  return {
    hfConfig: { model_type: "bert", vocab_size: 2, hidden_size: 3 },
    tensors,
    optimizer: { step, m: [Float32Array.of(step, 1)], v: [Float32Array.of(2, step)] },
    state,
    files: { "vocab.txt": "[PAD]\n[UNK]\n" },
  };
}

describe("checkpoints", () => {
  it("round-trip model, optimizer and trainer state; `latest` names the newest; keep N prunes", () => {
    const save = join(root, "a");
    for (const step of [1, 2, 3]) saveCheckpoint(save, checkpointName(0, step), payload(step), 2);
    expect(listCheckpoints(save).map((c) => c.name)).toEqual(["ep0-ba2", "ep0-ba3"]);
    expect(fs.readFileSync(join(save, "latest"), "utf8").trim()).toBe("checkpoints/ep0-ba3");
    const ck = loadCheckpoint(findLatest(save)!);
    expect(ck.state.step).toBe(3);
    expect(ck.state.loader).toEqual({ epoch: 0, batchInEpoch: 3, samplesSeen: 12 });
    expect(Array.from(ck.tensors.get("bert.embeddings.word_embeddings.weight")!.data)).toEqual([0.5, 3.5, 6.5, 9.5, 12.5, 15.5]);
    expect(ck.optimizer.step).toBe(3);
    expect(Array.from(ck.optimizer.m[0]!)).toEqual([3, 1]);
    expect(Array.from(ck.optimizer.v[0]!)).toEqual([2, 3]);
    expect(ck.hfConfig.vocab_size).toBe(2);
    expect(fs.readFileSync(join(ck.dir, "vocab.txt"), "utf8")).toBe("[PAD]\n[UNK]\n");
  });

  it("ignores leftovers of a crash mid-save and a stale pointer", () => {
    const save = join(root, "b");
    saveCheckpoint(save, checkpointName(0, 5), payload(5));
    // A crash while writing step 6: only the hidden temp folder exists.
    fs.mkdirSync(join(save, "checkpoints", ".tmp-ep0-ba6-123"), { recursive: true });
    fs.writeFileSync(join(save, "checkpoints", ".tmp-ep0-ba6-123", "model.safetensors"), "partial");
    expect(findLatest(save)).toBe(join(save, "checkpoints", "ep0-ba5"));
    // A crash after the rename of step 7 but before `latest` moved: step 7 is complete and wins.
    saveCheckpoint(save, checkpointName(0, 7), payload(7));
    fs.writeFileSync(join(save, "latest"), "checkpoints/ep0-ba5\n");
    expect(loadCheckpoint(findLatest(save)!).state.step).toBe(7);
    expect(findLatest(join(root, "nothing-here"))).toBeNull();
  });

  it("names the file and field of a bad checkpoint", () => {
    const save = join(root, "c");
    const dir = saveCheckpoint(save, checkpointName(1, 9), payload(9));
    const f = join(dir, "trainer_state.json");
    const st = JSON.parse(fs.readFileSync(f, "utf8"));
    fs.writeFileSync(f, JSON.stringify({ ...st, step: "nine" }));
    expect(() => loadCheckpoint(dir)).toThrow(/trainer_state\.json: step: expected a number, got "nine"/);
    fs.writeFileSync(f, JSON.stringify({ ...st, scheduleProgress: 1.5 }));
    expect(() => loadCheckpoint(dir)).toThrow(/trainer_state\.json: scheduleProgress: expected a number in \[0, 1\], got 1\.5/);
    fs.writeFileSync(f, "{");
    expect(() => loadCheckpoint(dir)).toThrow(/trainer_state\.json: not valid JSON/);
    expect(() => loadCheckpoint(root)).toThrow(/is not a training checkpoint/);
    fs.writeFileSync(f, JSON.stringify(st));
    fs.rmSync(join(dir, "optimizer.safetensors"));
    expect(() => loadCheckpoint(dir)).toThrow(/optimizer\.safetensors is missing/);
  });

  it("removes temp folders of dead writers (and its own pid's), keeps a live writer's and the checkpoints", () => {
    const save = join(root, "d");
    saveCheckpoint(save, checkpointName(0, 1), payload(1));
    saveCheckpoint(save, checkpointName(0, 2), payload(2));
    const ck = join(save, "checkpoints");
    const before = fs.readFileSync(join(ck, "ep0-ba2", "model.safetensors"));
    // A pid that was a process and has exited: a killed write's leftover.
    const dead = spawnSync(process.execPath, ["-e", ""]).pid;
    const stale = join(ck, `.tmp-ep0-ba3-${dead}`);
    const own = join(ck, `.tmp-ep0-ba4-${process.pid}`);
    const live = join(ck, `.tmp-ep0-ba5-${process.ppid}`);
    for (const d of [stale, own, live]) {
      fs.mkdirSync(d);
      fs.writeFileSync(join(d, "model.safetensors"), "partial");
    }
    const logged: string[] = [];
    expect(removeStaleTemps(save, (m) => logged.push(m)).sort()).toEqual([stale, own].sort());
    expect(logged.join("\n")).toContain(stale);
    expect(fs.readdirSync(ck).sort()).toEqual([`.tmp-ep0-ba5-${process.ppid}`, "ep0-ba1", "ep0-ba2"]);
    expect(fs.readFileSync(join(ck, "ep0-ba2", "model.safetensors"))).toEqual(before);
    expect(loadCheckpoint(findLatest(save)!).state.step).toBe(2);
    expect(removeStaleTemps(join(root, "nothing-here"))).toEqual([]);
  });

  it("refuses a save folder under /proc or /sys before creating anything, also through a symlink", () => {
    expect(() => checkSaveFolder("/proc/mosaicbert-x/run")).toThrow(/save folder \/proc\/mosaicbert-x\/run: is under \/proc/);
    expect(() => checkSaveFolder("/sys/mosaicbert-x")).toThrow(/save folder \/sys\/mosaicbert-x: is under \/sys/);
    expect(() => checkSaveFolder("/proc")).toThrow(/under \/proc/);
    const link = join(root, "to-proc");
    fs.symlinkSync("/proc", link);
    expect(() => checkSaveFolder(join(link, "x", "y"))).toThrow(/to-proc\/x\/y: resolves to \/proc\/x\/y, under \/proc/);
    expect(() => saveCheckpoint("/proc/mosaicbert-x", checkpointName(0, 1), payload(1))).toThrow(/under \/proc/);
    // Look-alike names are fine.
    expect(() => checkSaveFolder(join(root, "proc", "sys"))).not.toThrow();
    expect(() => checkSaveFolder("/processing-nonexistent/run")).not.toThrow();
  });

  it("orders checkpoints by step number, ignores other folders, keeps all with keep ≤ 0, re-saves a step whole", () => {
    const save = join(root, "order");
    for (const step of [9, 10, 2]) saveCheckpoint(save, checkpointName(0, step), payload(step), 0);
    fs.mkdirSync(join(save, "checkpoints", "ep0-ba99"), { recursive: true }); // incomplete: no trainer_state.json
    fs.mkdirSync(join(save, "checkpoints", "notes"), { recursive: true });
    fs.writeFileSync(join(save, "checkpoints", "notes", "trainer_state.json"), "{}");
    fs.mkdirSync(join(save, "checkpoints", "ep0-ba50x"), { recursive: true });
    fs.writeFileSync(join(save, "checkpoints", "ep0-ba50x", "trainer_state.json"), "{}");
    expect(listCheckpoints(save).map((c) => [c.name, c.step])).toEqual([["ep0-ba2", 2], ["ep0-ba9", 9], ["ep0-ba10", 10]]);
    expect(listCheckpoints(save)[0]!.dir).toBe(join(save, "checkpoints", "ep0-ba2"));
    // The newest is the last one written (what `latest` names and --resume auto takes), not the highest step.
    expect(findLatest(save)).toBe(join(save, "checkpoints", "ep0-ba2"));
    fs.writeFileSync(join(save, "checkpoints", "ep0-ba10", "stale.bin"), "x");
    saveCheckpoint(save, checkpointName(0, 10), payload(10), 2);
    expect(fs.existsSync(join(save, "checkpoints", "ep0-ba10", "stale.bin"))).toBe(false);
    expect(findLatest(save)).toBe(join(save, "checkpoints", "ep0-ba10"));
    // keep 2 keeps this run's two newest writes (ba2, then ba10 again): ba9 is the oldest write.
    expect(listCheckpoints(save).map((c) => c.step)).toEqual([2, 10]);
    expect(listCheckpoints(join(root, "nothing-here"))).toEqual([]);
  });

  it("follows `latest` only to a complete checkpoint of its own folder", () => {
    const save = join(root, "pointer");
    const elsewhere = saveCheckpoint(join(root, "pointer-other"), checkpointName(0, 4), payload(4));
    fs.mkdirSync(save, { recursive: true });
    fs.writeFileSync(join(save, "latest"), `${elsewhere}\n`);
    expect(findLatest(save)).toBeNull();
    fs.writeFileSync(join(save, "latest"), "\n");
    expect(findLatest(save)).toBeNull();
    fs.writeFileSync(join(save, "latest"), "checkpoints/ep0-ba1\n");
    expect(findLatest(save)).toBeNull();
  });

  it("refuses a checkpoint of another format, a missing moment, half-precision weights, each trainer number", () => {
    const save = join(root, "bad-state");
    const dir = saveCheckpoint(save, checkpointName(0, 3), payload(3));
    const f = join(dir, "trainer_state.json");
    const st = JSON.parse(fs.readFileSync(f, "utf8"));
    fs.writeFileSync(f, JSON.stringify({ ...st, version: 2 }));
    expect(() => loadCheckpoint(dir)).toThrow(/format: expected mosaicbert-trainer-state version 1, got mosaicbert-trainer-state 2/);
    fs.writeFileSync(f, JSON.stringify({ ...st, format: "composer" }));
    expect(() => loadCheckpoint(dir)).toThrow(/got composer 1/);
    for (const k of ["samplesSeen", "tokensSeen", "seed", "elapsedSeconds"]) {
      fs.writeFileSync(f, JSON.stringify({ ...st, [k]: null }));
      expect(() => loadCheckpoint(dir)).toThrow(`${k}: expected a number, got null`);
    }
    fs.writeFileSync(f, JSON.stringify({ ...st, step: Infinity }));
    expect(() => loadCheckpoint(dir)).toThrow(/step: expected a number/);
    for (const sp of [null, 0, 1]) {
      fs.writeFileSync(f, JSON.stringify({ ...st, scheduleProgress: sp }));
      expect(loadCheckpoint(dir).state.step).toBe(3);
    }
    for (const sp of [-0.1, "0.5"]) {
      fs.writeFileSync(f, JSON.stringify({ ...st, scheduleProgress: sp }));
      expect(() => loadCheckpoint(dir)).toThrow(/scheduleProgress: expected a number in \[0, 1\]/);
    }
    fs.writeFileSync(f, JSON.stringify(st));
    const two = { ...payload(3), optimizer: { step: 3, m: [Float32Array.of(1), Float32Array.of(2, 3)], v: [Float32Array.of(4), Float32Array.of(5, 6)] } };
    const d2 = saveCheckpoint(join(root, "two-moments"), checkpointName(0, 3), two);
    const ck = loadCheckpoint(d2);
    expect(ck.optimizer.m.map((m) => Array.from(m))).toEqual([[1], [2, 3]]);
    expect(ck.optimizer.v.map((v) => Array.from(v))).toEqual([[4], [5, 6]]);
    expect(ck.dir).toBe(d2);
    const half = { ...payload(3), tensors: new Map<string, TensorInput>([["w", { dtype: "f16", shape: [1], data: new Uint8Array(2) }]]) };
    const d3 = saveCheckpoint(join(root, "half"), checkpointName(0, 3), half);
    expect(() => loadCheckpoint(d3)).toThrow(`checkpoint: ${d3}: tensor 'w': expected F32 master weights, got f16`);
  });

  it("a failed write leaves no temp folder and says which checkpoint", () => {
    const save = join(root, "failed-write");
    const bad = { ...payload(1), optimizer: { step: 1, m: [Float32Array.of(1)], v: [] as Float32Array[] } };
    const p = { ...bad, tensors: new Map<string, TensorInput>([["w", { dtype: "f32", shape: [3], data: new Float32Array(2) }]]) };
    expect(() => saveCheckpoint(save, checkpointName(0, 1), p)).toThrow(`checkpoint: could not write ${join(save, "checkpoints", "ep0-ba1")}:`);
    expect(fs.readdirSync(join(save, "checkpoints"))).toEqual([]);
    expect(fs.existsSync(join(save, "latest"))).toBe(false);
  });

  /** payload(step) written by run `runId`. */
  const ofRun = (step: number, runId: string) => {
    const p = payload(step);
    return { ...p, state: { ...p.state, runId } };
  };
  /** Rewrites fields of a checkpoint's trainer_state.json (undefined removes one). */
  const patchState = (dir: string, fields: Record<string, unknown>) => {
    const f = join(dir, "trainer_state.json");
    fs.writeFileSync(f, JSON.stringify({ ...JSON.parse(fs.readFileSync(f, "utf8")), ...fields }));
  };

  it("follows `latest` past another run's newer checkpoint and in folders written before runs and write order", () => {
    const save = join(root, "runs-latest");
    saveCheckpoint(save, checkpointName(0, 1), ofRun(1, "run-a"));
    const a2 = saveCheckpoint(save, checkpointName(0, 2), ofRun(2, "run-a"));
    // Another run wrote the newest checkpoint, but `latest` names run-a's: run-a's is the one to resume.
    const b3 = saveCheckpoint(save, checkpointName(0, 3), ofRun(3, "run-b"));
    expect(findLatest(save)).toBe(b3);
    fs.writeFileSync(join(save, "latest"), "checkpoints/ep0-ba2\n");
    expect(findLatest(save)).toBe(a2);
    expect(loadCheckpoint(a2).state.runId).toBe("run-a");
    expect(checkpointStates(save).map((c) => [c.name, c.runId, c.saveSeq])).toEqual([
      ["ep0-ba1", "run-a", 1],
      ["ep0-ba2", "run-a", 2],
      ["ep0-ba3", "run-b", 3],
    ]);
    // Checkpoints of older versions carry neither: all are write 0 of no run, ordered by step; `latest` decides.
    const old = join(root, "legacy-latest");
    for (const step of [5, 7]) patchState(saveCheckpoint(old, checkpointName(0, step), payload(step)), { saveSeq: undefined, runId: undefined });
    fs.writeFileSync(join(old, "latest"), "checkpoints/ep0-ba5\n");
    expect(findLatest(old)).toBe(join(old, "checkpoints", "ep0-ba5"));
    expect(checkpointStates(old).map((c) => [c.step, c.runId, c.saveSeq])).toEqual([[5, null, 0], [7, null, 0]]);
    fs.rmSync(join(old, "latest"));
    expect(findLatest(old)).toBe(join(old, "checkpoints", "ep0-ba7"));
  });

  it("counts a write order that is not a safe integer as 0 and a runId that is not a string as none", () => {
    const save = join(root, "odd-state");
    const d1 = saveCheckpoint(save, checkpointName(0, 1), ofRun(1, "run-a"));
    const d2 = saveCheckpoint(save, checkpointName(0, 2), ofRun(2, "run-a"));
    patchState(d2, { saveSeq: 2.5 });
    patchState(d1, { runId: 5 });
    expect(checkpointStates(save).map((c) => [c.name, c.runId, c.saveSeq])).toEqual([
      ["ep0-ba2", "run-a", 0],
      ["ep0-ba1", null, 1],
    ]);
    fs.rmSync(join(save, "latest"));
    expect(findLatest(save)).toBe(d1);
    patchState(d2, { saveSeq: 2 ** 60 });
    expect(checkpointStates(save)[0]!.name).toBe("ep0-ba2");
    // loadCheckpoint refuses the odd runId by name.
    expect(() => loadCheckpoint(d1)).toThrow(`checkpoint: ${join(d1, "trainer_state.json")}: runId: expected a string, got 5`);
  });

  it("prunes only this run's checkpoints", () => {
    const save = join(root, "runs-prune");
    for (const step of [1, 2]) saveCheckpoint(save, checkpointName(0, step), ofRun(step, "run-a"), 1);
    expect(listCheckpoints(save).map((c) => c.name)).toEqual(["ep0-ba2"]);
    for (const step of [3, 4, 5]) saveCheckpoint(save, checkpointName(0, step), ofRun(step, "run-b"), 2);
    expect(listCheckpoints(save).map((c) => c.name)).toEqual(["ep0-ba2", "ep0-ba4", "ep0-ba5"]);
  });

  it("lists only folders named ep<E>-ba<B> exactly that hold every required file", () => {
    const save = join(root, "names");
    const src = saveCheckpoint(save, checkpointName(0, 1), payload(1));
    const ck = join(save, "checkpoints");
    for (const name of ["ep10-ba5", "xep0-ba7", "ep0-ba8.bak", "ep0-ba9"]) fs.cpSync(src, join(ck, name), { recursive: true });
    for (const f of ["config.json", "model.safetensors", "optimizer.safetensors"]) {
      const d = join(ck, `ep0-ba2${f.length}`);
      fs.cpSync(src, d, { recursive: true });
      fs.rmSync(join(d, f));
    }
    expect(listCheckpoints(save).map((c) => [c.name, c.step])).toEqual([["ep0-ba1", 1], ["ep10-ba5", 5], ["ep0-ba9", 9]]);
  });

  it("writes the files its header lists (no model card), the optimizer's step and count in metadata, over a leftover temp of its own", () => {
    const save = join(root, "files");
    const ck = join(save, "checkpoints");
    // An earlier failed save of this process left a temp folder with content behind.
    fs.mkdirSync(join(ck, `.tmp-ep0-ba4-${process.pid}`, "sub"), { recursive: true });
    fs.writeFileSync(join(ck, `.tmp-ep0-ba4-${process.pid}`, "sub", "junk"), "x");
    const dir = saveCheckpoint(save, checkpointName(0, 4), payload(4));
    expect(fs.readdirSync(dir).sort()).toEqual(["config.json", "model.safetensors", "optimizer.safetensors", "trainer_state.json", "vocab.txt"]);
    expect(fs.readdirSync(ck)).toEqual(["ep0-ba4"]);
    expect(readSafetensorsMetadata(join(dir, "optimizer.safetensors"))).toEqual({ step: "4", count: "1" });
  });

  it("removeAtomically: a missing folder is nothing to do, any other failure is thrown", () => {
    const base = join(root, "remove");
    fs.mkdirSync(base, { recursive: true });
    expect(() => removeAtomically(join(base, "absent"))).not.toThrow();
    fs.writeFileSync(join(base, "file"), "x");
    expect(() => removeAtomically(join(base, "file", "sub"))).toThrow(/ENOTDIR/);
    fs.mkdirSync(join(base, "d", "e"), { recursive: true });
    removeAtomically(join(base, "d"));
    expect(fs.readdirSync(base)).toEqual(["file"]);
  });

  it("refuses an optimizer file whose second moment is missing", () => {
    const dir = saveCheckpoint(join(root, "no-v"), checkpointName(0, 2), payload(2));
    const f = join(dir, "optimizer.safetensors");
    writeSafetensors(f, new Map<string, TensorInput>([["m.0", { dtype: "f32", shape: [2], data: Float32Array.of(1, 2) }]]), { step: "2", count: "1" });
    expect(() => loadCheckpoint(dir)).toThrow(`checkpoint: ${f}: tensor 'v.0' is missing`);
  });
});

