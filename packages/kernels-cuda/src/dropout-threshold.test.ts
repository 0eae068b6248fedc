// The GPU dropout masks' integer test (native/random.cuh: drop_threshold) must keep exactly the elements the
// float test `mb_uniform(key, c) >= p` kept — the CPU reference's masks, bit for bit. No GPU needed:
// dropout-threshold.test.cc compiled with the host's C++ compiler and run.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const here = path.dirname(fileURLToPath(import.meta.url));
const cxx = ["c++", "g++", "clang++"].find((c) => spawnSync(c, ["--version"]).status === 0);

describe.skipIf(!cxx)(`dropout's integer threshold (${cxx ?? "no C++ compiler on this machine"})`, () => {
  it("keeps exactly what the float test keeps, at the threshold and over a million generated values", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "dropout-threshold-"));
    try {
      const exe = path.join(dir, "t");
      const cc = spawnSync(cxx!, ["-std=c++17", "-O2", "-Wall", "-Werror", "-o", exe, path.join(here, "dropout-threshold.test.cc")], { encoding: "utf8" });
      expect(cc.stderr).toBe("");
      expect(cc.status).toBe(0);
      const run = spawnSync(exe, [], { encoding: "utf8" });
      expect(run.stdout).toBe("dropout_threshold: all checks passed\n");
      expect(run.status).toBe(0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
