import { describe, expect, it } from "vitest";
import * as kit from "./backend-kit.js";
import * as main from "./index.js";
import * as testing from "./testing.js";
import * as validate from "./validate/index.js";

// The three entry points of package.json "exports": the main one stays small, backend authors' tools and
// test helpers live under their subpaths.

describe("@mosaicbert/tensor entry points", () => {
  it("the main entry: tensors, dtypes, errors, random numbers and the CPU backends, nothing for backend authors or tests", () => {
    expect(Object.keys(main).sort()).toEqual([
      "CpuBackend", "DTYPES", "FastCpuBackend", "OpError", "Rng", "Tensor", "cpu", "decodeBf16", "decodeF16", "defaultCpuBackend",
      "encodeBf16", "encodeF16", "fastCpu", "isFloat", "isInt", "itemsize", "mix32",
    ]);
  });

  it("./backend-kit: every op's validation, the checks, the dropout counter RNG, raw storage", () => {
    for (const name of Object.keys(validate)) expect(kit, name).toHaveProperty(name);
    for (const name of ["expectTensor", "asMatrix", "fmtShape", "floatArg", "outArg", "seedKey", "uniformAt", "rawArray", "f32ToBf16Bits"]) {
      expect(kit, name).toHaveProperty(name);
    }
    for (const name of Object.keys(kit)) expect(main, name).not.toHaveProperty(name);
  });

  it("./testing: the helpers and the conformance suite", () => {
    expect(Object.keys(testing).sort()).toEqual([
      "casesMatching", "checkGradient", "conformanceCases", "hasNonFinite", "maxAbsDiff", "numericalGradient", "poison", "randomTensor", "relativeL2", "runCase",
    ]);
    expect(testing.conformanceCases.length).toBeGreaterThan(20);
  });
});
