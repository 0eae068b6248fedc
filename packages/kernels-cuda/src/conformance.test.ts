import { cpu } from "@mosaicbert/tensor";
import { conformanceCases, runCase } from "@mosaicbert/tensor/testing";
import { describe, expect, it } from "vitest";
import { cudaAvailable } from "./index.js";

const cuda = cudaAvailable();
if (!cuda.backend) console.log(`[kernels-cuda] CUDA conformance skipped: ${cuda.reason}`);

describe("CUDA backend conformance against the CPU reference", () => {
  for (const c of conformanceCases) {
    it.skipIf(!cuda.backend)(c.name, () => {
      const be = cuda.backend!;
      be.poison = true;
      const r = runCase(c, be, cpu, 7);
      expect(r.ok, `${c.name}: ${r.detail} (worst ${r.error})`).toBe(true);
    });
  }
});

describe("CUDA backend availability", () => {
  it("reports why it is unavailable, or runs", () => {
    if (cuda.backend) expect(cuda.backend.info.computeCapability).toBeGreaterThan(0);
    else expect(cuda.reason).toMatch(/^CUDA backend unavailable: /);
  });
});
