import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import { createRequire, syncBuiltinESMExports } from "node:module";
import * as path from "node:path";
import { afterAll, afterEach, describe, expect, it } from "vitest";
import { LATEST_FILE, listCheckpoints, loadCheckpoint } from "../checkpoint/checkpoint.js";
import { sampleCorpusDir } from "../paths.js";
import { cleanup, quiet, SMALL, tmp } from "../testing/pretrain-fixtures.js";
import { pretrain } from "./pretrain.js";

// Disk full, an unwritable save folder and a missing data folder (#11). Tests run as root in CI, where
// chmod does not stop writes, so: disk full is injected by making fs.writeSync fail with ENOSPC for
// files of one checkpoint (the node:fs module object, synced into ESM imports); an unwritable save
// folder is one under /sys (no one, root included, can create folders there) or a path through a
// regular file (ENOTDIR); a missing data folder is a path that does not exist, or one removed mid-run.

afterAll(cleanup);

const cjsFs = createRequire(import.meta.url)("node:fs") as typeof fs;
const realOpen = cjsFs.openSync;
const realWrite = cjsFs.writeSync;
afterEach(() => {
  cjsFs.openSync = realOpen;
  cjsFs.writeSync = realWrite;
  syncBuiltinESMExports();
});

/** From now on, writes to files whose path contains `marker` fail as on a full disk. */
function diskFullFor(marker: string): void {
  const victims = new Set<number>();
  cjsFs.openSync = ((p: fs.PathLike, ...rest: unknown[]) => {
    const fd = (realOpen as (...a: unknown[]) => number)(p, ...rest);
    if (String(p).includes(marker)) victims.add(fd);
    else victims.delete(fd);
    return fd;
  }) as typeof fs.openSync;
  cjsFs.writeSync = ((fd: number, ...rest: unknown[]) => {
    if (victims.has(fd)) throw Object.assign(new Error("ENOSPC: no space left on device, write"), { code: "ENOSPC", errno: -28, syscall: "write" });
    return (realWrite as (...a: unknown[]) => number)(fd, ...rest);
  }) as typeof fs.writeSync;
  syncBuiltinESMExports();
}

const base = { config: "tiny-cpu", overrides: [...SMALL, "save_interval=1ba", "save_num_checkpoints_to_keep=-1"], device: "cpu" as const, handleSignals: false, stderr: quiet };

describe("faults during pretraining: a clear error, the last good checkpoint kept", () => {
  it("disk full while writing the step-2 checkpoint", async () => {
    const run = tmp();
    diskFullFor(`${path.sep}.tmp-ep0-ba2-`);
    const err = await pretrain({ ...base, maxDuration: "3ba", saveFolder: run }).then(() => null, (e: Error) => e);
    expect(err, "the run must fail").toBeInstanceOf(Error);
    expect(err!.message).toMatch(/checkpoint: could not write .*ep0-ba2: .*ENOSPC: no space left on device/);
    // Step 1's checkpoint is complete, loadable and still the one `latest` names; no temp folder is left.
    expect(listCheckpoints(run).map((c) => c.step)).toEqual([1]);
    expect(loadCheckpoint(listCheckpoints(run)[0]!.dir).state.step).toBe(1);
    expect(fs.readFileSync(path.join(run, LATEST_FILE), "utf8").trim()).toBe("checkpoints/ep0-ba1");
    expect(fs.readdirSync(path.join(run, "checkpoints"))).toEqual(["ep0-ba1"]);
    // Space is back: the run resumes from step 1 and finishes.
    cjsFs.openSync = realOpen;
    cjsFs.writeSync = realWrite;
    syncBuiltinESMExports();
    const r = await pretrain({ ...base, maxDuration: "3ba", saveFolder: run, resume: "auto" });
    expect(r.status).toBe("completed");
    expect(r.firstStep).toBe(1);
    expect(listCheckpoints(run).map((c) => c.step)).toEqual([1, 2, 3]);
  });

  it("save folder that cannot be created, even by root (/sys) or through a file", async () => {
    // /sys refuses mkdir with EPERM for everyone (and is refused up front now, like /proc below).
    const sys = "/sys/mosaicbert-no-such-dir/run";
    await expect(pretrain({ ...base, maxDuration: "1ba", saveFolder: sys })).rejects.toThrow(/\/sys\/mosaicbert-no-such-dir/);
    const file = path.join(tmp(), "a-file");
    fs.writeFileSync(file, "not a folder");
    await expect(pretrain({ ...base, maxDuration: "1ba", saveFolder: path.join(file, "run") })).rejects.toThrow(/a-file/);
  });

  it("save folder under /proc: refused up front, naming the path (Node 20's recursive mkdir would hang there)", async () => {
    await expect(pretrain({ ...base, maxDuration: "1ba", saveFolder: "/proc/mosaicbert-no-such-dir/run" })).rejects.toThrow(
      /save folder \/proc\/mosaicbert-no-such-dir\/run: is under \/proc/,
    );
  });

  it("resume removes the temp folder a killed checkpoint write left, keeps the checkpoints", async () => {
    const run = tmp();
    await pretrain({ ...base, maxDuration: "1ba", saveFolder: run });
    const ck = path.join(run, "checkpoints");
    const good = fs.readFileSync(path.join(ck, "ep0-ba1", "model.safetensors"));
    // The leftover of a writer that is gone: the pid of a process that has exited.
    const dead = spawnSync(process.execPath, ["-e", ""]).pid;
    const stale = path.join(ck, `.tmp-ep0-ba2-${dead}`);
    fs.mkdirSync(stale);
    fs.writeFileSync(path.join(stale, "model.safetensors"), "partial");
    const r = await pretrain({ ...base, maxDuration: "2ba", saveFolder: run, resume: "auto" });
    expect(r.firstStep).toBe(1);
    expect(fs.existsSync(stale)).toBe(false);
    expect(fs.readdirSync(ck).sort()).toEqual(["ep0-ba1", "ep0-ba2"]);
    // Buffer.equals: a deep toEqual over megabytes of bytes takes a minute.
    expect(fs.readFileSync(path.join(ck, "ep0-ba1", "model.safetensors")).equals(good)).toBe(true);
  });

  it("missing data folder: at start, and removed mid-run", async () => {
    const missing = path.join(tmp(), "no-such-data");
    await expect(pretrain({ ...base, maxDuration: "1ba", saveFolder: tmp(), data: missing })).rejects.toThrow(/no-such-data/);
    // Mid-run: a copy of the corpus is deleted after the first checkpoint. The run either finishes from
    // what it already read, or stops with an error naming the folder; the checkpoint before is intact.
    const data = path.join(tmp(), "corpus");
    fs.cpSync(sampleCorpusDir(), data, { recursive: true });
    const run = tmp();
    const watcher = setInterval(() => {
      if (listCheckpoints(run).length >= 1 && fs.existsSync(data)) fs.rmSync(data, { recursive: true, force: true });
    }, 5);
    const outcome = await pretrain({ ...base, maxDuration: "4ba", saveFolder: run, data }).then((r) => r.status, (e: Error) => e);
    clearInterval(watcher);
    expect(fs.existsSync(data)).toBe(false);
    if (outcome instanceof Error) expect(outcome.message).toContain(data);
    else expect(outcome).toBe("completed");
    for (const c of listCheckpoints(run)) expect(loadCheckpoint(c.dir).state.step).toBe(c.step);
    expect(listCheckpoints(run).length).toBeGreaterThanOrEqual(1);
  });
});
