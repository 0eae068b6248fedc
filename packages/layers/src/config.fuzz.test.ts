import * as fs from "node:fs";
import { describe, expect, it } from "vitest";
import { fuzzRuns } from "../../../scripts/fuzz/runner.mjs";
import { fuzzSuite } from "../../../scripts/fuzz/suite.mjs";
import { ConfigError } from "./errors.js";
import { fromHfConfig } from "./config.js";

// CI runs a seeded sample; FUZZ_RUNS=10000 (or scripts/fuzz.mjs) runs the full size (scripts/fuzz/suite.mjs).
const TARGET = new URL("./config.fuzz-target.ts", import.meta.url);
const RUNS = { configJson: fuzzRuns(300), configText: fuzzRuns(300) };

fuzzSuite("config.json reading under fuzzing: a valid config or an error naming file and field", TARGET, RUNS);

describe("regressions found by the fuzzer: absurd sizes are refused before anything is allocated", () => {
  const base = JSON.parse(fs.readFileSync(new URL("../../../../shared/data/golden/mosaic-tiny-mlm/config.json", import.meta.url), "utf8"));
  // Before: hidden_size 1e12 ended in "RangeError: Invalid typed array length" from the backend, and
  // num_hidden_layers 1e9 spent minutes building layer objects.
  for (const [field, value] of [["hidden_size", 1e12], ["vocab_size", 1e12], ["num_hidden_layers", 1e9], ["intermediate_size", 3e9]] as const) {
    it(`${field} ${value}`, () => {
      const json = { ...base, [field]: value, num_attention_heads: 2 };
      expect(() => fromHfConfig(json, { file: "m/config.json" })).toThrow(ConfigError);
      expect(() => fromHfConfig(json, { file: "m/config.json" })).toThrow(new RegExp(`^m/config\\.json: config field '${field}': the model would have about .* parameters`));
    });
  }

  it("bert-large sizes are still accepted", () => {
    const large = { ...base, hidden_size: 1024, num_attention_heads: 16, num_hidden_layers: 24, intermediate_size: 4096, vocab_size: 30528 };
    expect(fromHfConfig(large).config.hiddenSize).toBe(1024);
  });
});
