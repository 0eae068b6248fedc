import { describe, expect, it } from "vitest";
import { durationSeconds, durationToSteps, parseDuration } from "./duration.js";

const ctx = { globalBatchSize: 4096, tokensPerSample: 128, samplesPerEpoch: 364_868_892 - (364_868_892 % 4096) };

describe("durations", () => {
  it("parses Composer units and wall-clock units", () => {
    expect(parseDuration("2000ba")).toEqual({ value: 2000, unit: "ba" });
    expect(parseDuration("286720000sp")).toEqual({ value: 286720000, unit: "sp" });
    expect(parseDuration("0.06dur")).toEqual({ value: 0.06, unit: "dur" });
    expect(parseDuration("36e9tok")).toEqual({ value: 36e9, unit: "tok" });
    expect(parseDuration(" 10min ")).toEqual({ value: 10, unit: "min" });
    expect(durationSeconds(parseDuration("10min"))).toBe(600);
    expect(durationSeconds(parseDuration("1.5h"))).toBe(5400);
    expect(durationSeconds(parseDuration("30sec"))).toBe(30);
    expect(durationSeconds(parseDuration("2ep"))).toBeNull();
  });

  it("converts to optimizer steps as Composer does", () => {
    expect(durationToSteps(parseDuration("286720000sp"), ctx)).toBe(70000);
    // A partial batch still runs: samples round up to whole steps.
    expect(durationToSteps(parseDuration("4097sp"), ctx)).toBe(2);
    expect(durationToSteps(parseDuration("36700160000tok"), ctx)).toBe(70000);
    expect(durationToSteps(parseDuration("1ep"), ctx)).toBe(Math.floor(364_868_892 / 4096));
    expect(durationToSteps(parseDuration("0.06dur"), { ...ctx, totalSteps: 70000 })).toBe(4200);
    // int(T · f) truncates.
    expect(durationToSteps(parseDuration("0.06dur"), { ...ctx, totalSteps: 10 })).toBe(0);
    expect(durationToSteps(parseDuration("10min"), ctx)).toBeNull();
  });

  it("rejects malformed durations with the expected form", () => {
    expect(() => parseDuration("2000", "max_duration")).toThrow(/max_duration: expected a number followed by a unit .* got "2000"/);
    expect(() => parseDuration("1.5ba", "eval_interval")).toThrow(/eval_interval: ba needs a whole number, got 1.5/);
    expect(() => parseDuration("1.2dur")).toThrow(/must be in \[0, 1\]/);
    expect(() => durationToSteps(parseDuration("0.5dur"), ctx, "t_warmup")).toThrow(/t_warmup: a fraction of the run/);
    expect(() => durationToSteps(parseDuration("1ep"), { globalBatchSize: 8, tokensPerSample: 1 }, "max_duration")).toThrow(/"ep" needs the dataset size/);
  });
});
