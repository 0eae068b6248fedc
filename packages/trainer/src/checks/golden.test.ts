import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { GOLDEN_CASES, runGolden } from "./golden.js";
import { cudaAvailable } from "@mosaicbert/kernels-cuda";

const GOLDEN = fileURLToPath(new URL("../../../../shared/data/golden/", import.meta.url));
const cuda = cudaAvailable();
if (!cuda.backend) console.log(`[trainer] CUDA golden tests skipped: ${cuda.reason}`);

describe("PyTorch goldens through @mosaicbert/layers on CUDA (bf16, ≤ 2e-2)", () => {
  for (const name of GOLDEN_CASES) {
    it.skipIf(!cuda.backend)(name, () => {
      const r = runGolden(cuda.backend!, GOLDEN, name);
      expect(r.ok, `${name}: ${JSON.stringify(r.errors)}`).toBe(true);
    });
  }
});
