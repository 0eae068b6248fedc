// The flash-attention tile choice per GPU class (native/flash_tiles.h: which GPUs hold 8 warps per CTA, which
// only 4, which none) needs no GPU: flash-tiles.test.cc compiled with the host's C++ compiler and run.
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const here = path.dirname(fileURLToPath(import.meta.url));
const cxx = ["c++", "g++", "clang++"].find((c) => spawnSync(c, ["--version"]).status === 0);

describe.skipIf(!cxx)(`flash attention tiles per GPU (${cxx ?? "no C++ compiler on this machine"})`, () => {
  it("8 warps where they fit, 4 on the 99 KB parts at head dim 128, none below what 4 need", () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), "flash-tiles-"));
    try {
      const exe = path.join(dir, "t");
      const cc = spawnSync(cxx!, ["-std=c++17", "-Wall", "-Werror", "-o", exe, path.join(here, "flash-tiles.test.cc")], { encoding: "utf8" });
      expect(cc.stderr).toBe("");
      expect(cc.status).toBe(0);
      const run = spawnSync(exe, [], { encoding: "utf8" });
      expect(run.stdout).toBe("flash_tiles: all checks passed\n");
      expect(run.status).toBe(0);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
