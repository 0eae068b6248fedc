// The cuBLASLt algorithm cache file (native/gemm_cache.h: where it lives, which files are used, atomic
// writes) needs no GPU: gemm-cache.test.cc compiled with the host's C++ compiler and run.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const here = path.dirname(fileURLToPath(import.meta.url));
const cxx = ["c++", "g++", "clang++"].find((c) => spawnSync(c, ["--version"]).status === 0);

describe.skipIf(!cxx)(`GEMM algorithm cache file (${cxx ?? "no C++ compiler on this machine"})`, () => {
  it("round-trips, ignores other GPUs' and malformed files, bounds what it reads, replaces files whole", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "gemm-cache-"));
    try {
      const exe = path.join(dir, "t");
      const cc = spawnSync(cxx!, ["-std=c++17", "-Wall", "-Werror", "-o", exe, path.join(here, "gemm-cache.test.cc")], { encoding: "utf8" });
      expect(cc.stderr).toBe("");
      expect(cc.status).toBe(0);
      const work = path.join(dir, "files");
      fs.mkdirSync(work);
      const run = spawnSync(exe, [work], { encoding: "utf8" });
      expect(run.stdout).toBe("gemm_cache: all checks passed\n");
      expect(run.status).toBe(0);
      expect(fs.readdirSync(path.join(work, "a", "b"))).toEqual(["gemm.txt"]);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
