import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { buildHostileCorpus, type HostileCase } from "@mosaicbert/data-streaming/testing";
import { hostileRecipes, type HostileRecipe } from "../testing/hostile-recipes.js";
import { quiet } from "../testing/pretrain-fixtures.js";
import { pretrain } from "../train/pretrain.js";
import { loadRecipe } from "./load.js";

// Hostile `pretrain --config` inputs and `data cat` datasets (issue #18). All of them through the
// real CLI, timed and measured: scripts/hostile-data-cli.mjs (docs/reliability.md §5).
const here = fileURLToPath(new URL(".", import.meta.url));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "hostile-recipes-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

let corpus: HostileCase[] = [];
let recipes: HostileRecipe[] = [];
beforeAll(async () => {
  corpus = await buildHostileCorpus(path.join(tmp, "corpus"), { bombBytes: 4 * 2 ** 20 });
  recipes = hostileRecipes(path.join(tmp, "recipes"), corpus);
});

describe("pretrain --config <hostile recipe>", () => {
  it("every hostile recipe file is refused by loadRecipe with the file and the key named", () => {
    const files = recipes.filter((r) => !r.name.startsWith("data ") && !r.args.length);
    expect(files.map((r) => r.name)).toEqual(["inherited-keys", "interp-constructor", "seed-2^53+1", "seq-len-1e9", "yaml-aliases", "interp-multiply", "flow-nesting", "compact-nesting"]);
    for (const r of files) expect(() => loadRecipe(r.file), r.name).toThrow(r.expect);
  });

  it("hostile training data ends in the reader's error naming the shard (before any step)", async () => {
    for (const name of ["data gz-bomb", "data index-4e9-samples"]) {
      const r = recipes.find((x) => x.name === name)!;
      const data = r.args[r.args.indexOf("--data") + 1]!;
      await expect(pretrain({ config: r.file, data, maxDuration: "1ba", device: "cpu", handleSignals: false, stderr: quiet }), name).rejects.toThrow(r.expect);
    }
  });
});

describe("the real CLI on a 1 GiB bz2 bomb", () => {
  it("`mosaicbert data cat` exits 1 with its own message naming the shard, within 1 GiB", async () => {
    const c = corpus.find((x) => x.name === "bz2-bomb")!;
    const r = await new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
      const p = spawn(process.execPath, ["--import", path.join(here, "../from-source/register-ts.mjs"), "--import", path.join(here, "../testing/report-rss.mjs"), path.join(here, "../cli.ts"), "data", "cat", c.dir], { stdio: ["ignore", "ignore", "pipe"] });
      let stderr = "";
      p.stderr.on("data", (d) => (stderr += String(d)));
      p.on("error", reject);
      p.on("close", (code) => resolve({ code, stderr }));
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`mosaicbert: ${c.dir}/shard.00000.mds.bz2: cannot decompress as bz2: decompresses to more than the`);
    expect(Number(/\[maxrss-kib (\d+)\]/.exec(r.stderr)![1]) / 1024).toBeLessThan(1024);
  }, 120_000);
});
