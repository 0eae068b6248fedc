import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import type { TensorInput } from "@mosaicbert/hub";
import { checkpointName, findLatest, listCheckpoints, loadCheckpoint, saveCheckpoint, type TrainerState } from "./checkpoint.js";
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
});

