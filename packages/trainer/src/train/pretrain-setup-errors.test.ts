import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { freePort } from "../parallel/port.js";
import { runChild } from "../testing/child.js";
import { cleanup, SMALL, tmp } from "../testing/pretrain-fixtures.js";

afterAll(cleanup);

/** One rank of a hand-started 2-process run. */
function rank(rank: number, port: number, opts: object): Promise<{ code: number | null; err: string }> {
  return runChild("testing/run-pretrain.ts", [JSON.stringify(opts)], {
    RANK: String(rank), WORLD_SIZE: "2", MASTER_ADDR: "127.0.0.1", MASTER_PORT: String(port), MOSAICBERT_RENDEZVOUS_TIMEOUT_MS: "20000",
  });
}

describe("pretrain: an error after the rendezvous closes the communicator", () => {
  it("rank 1's data is missing: rank 1 exits non-zero, rank 0 sees the close and exits non-zero (no hang)", async () => {
    const port = await freePort();
    const base = { config: "tiny-cpu", overrides: SMALL, maxDuration: "3ba", device: "cpu" };
    const [r0, r1] = await Promise.all([rank(0, port, { ...base, saveFolder: tmp() }), rank(1, port, { ...base, saveFolder: tmp(), data: "/nonexistent/corpus" })]);
    expect(r1.code).not.toBe(0);
    expect(r1.code).not.toBe(-1); // not killed by the test's bound
    expect(r0.code).not.toBe(0);
    expect(r0.code).not.toBe(-1);
    expect(r0.err).toMatch(/rank 1 \(127\.0\.0\.1:\d+\) closed the connection|cannot send to rank 1/);
  }, 30_000);

  it("--resume of a folder that is not a checkpoint: both ranks fail and exit", async () => {
    const port = await freePort();
    const bad = tmp();
    mkdirSync(join(bad, "junk"), { recursive: true });
    writeFileSync(join(bad, "junk", "x.txt"), "not a checkpoint");
    const base = { config: "tiny-cpu", overrides: SMALL, maxDuration: "3ba", device: "cpu", resume: join(bad, "junk") };
    const rs = await Promise.all([rank(0, port, { ...base, saveFolder: tmp() }), rank(1, port, { ...base, saveFolder: tmp() })]);
    for (const r of rs) {
      expect(r.code).not.toBe(0);
      expect(r.code).not.toBe(-1);
    }
  }, 30_000);
});

describe("pretrain: a setup that fails after the data workers started", () => {
  // The workers boot while the model is built; a later setup error must stop them, or their threads keep the CLI
  // (which sets process.exitCode and lets the event loop drain) alive forever.
  it("`mosaicbert pretrain --resume` of a folder that is not a checkpoint, with a data worker: exits 1 naming the folder (no hang)", async () => {
    const bad = tmp();
    mkdirSync(join(bad, "junk"), { recursive: true });
    writeFileSync(join(bad, "junk", "x.txt"), "not a checkpoint");
    const args = ["pretrain", "--config", "tiny-cpu", "--device", "cpu", "--max-duration", "3ba", "--save-folder", tmp(), "--resume", join(bad, "junk")];
    for (const o of SMALL) args.push("--set", o);
    const r = await runChild("cli.ts", args, { MOSAICBERT_DATA_WORKERS: "1" });
    expect(r.code, r.err).toBe(1);
    expect(r.err).toContain("junk");
  }, 30_000);
});
