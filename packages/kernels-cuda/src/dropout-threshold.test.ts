// The GPU dropout masks' integer test (native/random.cuh: drop_threshold) must keep exactly the elements the
// float test `mb_uniform(key, c) >= p` kept — the CPU reference's masks, bit for bit. No GPU needed:
// dropout-threshold.test.cc compiled with the host's C++ compiler and run.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { seedKey, uniformAtKey } from "@mosaicbert/tensor/backend-kit";
import { afterAll, describe, expect, it } from "vitest";

const here = path.dirname(fileURLToPath(import.meta.url));
const cxx = ["c++", "g++", "clang++"].find((c) => spawnSync(c, ["--version"]).status === 0);

describe.skipIf(!cxx)(`dropout masks of random.cuh (${cxx ?? "no C++ compiler on this machine"})`, () => {
  let dir = "";
  const build = (): string => {
    dir ||= fs.mkdtempSync(path.join(os.tmpdir(), "dropout-threshold-"));
    const exe = path.join(dir, "t");
    if (fs.existsSync(exe)) return exe;
    const cc = spawnSync(cxx!, ["-std=c++17", "-O2", "-Wall", "-Werror", "-o", exe, path.join(here, "dropout-threshold.test.cc")], { encoding: "utf8" });
    expect(cc.stderr).toBe("");
    expect(cc.status).toBe(0);
    return exe;
  };
  afterAll(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("the integer threshold keeps exactly what the float test keeps, at the threshold and over a million generated values", () => {
    const run = spawnSync(build(), [], { encoding: "utf8" });
    expect(run.stdout).toBe("dropout_threshold: all checks passed\n");
    expect(run.status).toBe(0);
  });

  it("the GPU generator draws the CPU reference's numbers, bit for bit (counters from 0 and across the 2^32 wrap)", () => {
    for (const seed of [0, 1, 1234567, 4294967295]) {
      const run = spawnSync(build(), ["values", String(seed), "4096"], { encoding: "utf8" });
      expect(run.status).toBe(0);
      const lines = run.stdout.trim().split("\n").map(Number);
      const key = seedKey(seed);
      expect(lines[0]).toBe(key);
      const counters = [...Array.from({ length: 4096 }, (_, i) => i), ...Array.from({ length: 16 }, (_, i) => 0xfffffff0 + i)];
      const want = counters.map((c) => uniformAtKey(key, c) * 16777216);
      expect(lines.slice(1)).toEqual(want);
    }
  });
});
