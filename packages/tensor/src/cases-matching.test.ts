import { describe, expect, it } from "vitest";
import { casesMatching, conformanceCases } from "./conformance.js";

const names = (f?: string): string[] => casesMatching(f).map((c) => c.name);

describe("casesMatching", () => {
  it("takes every case without a filter or with only separators", () => {
    expect(casesMatching().length).toBe(conformanceCases.length);
    expect(casesMatching("").length).toBe(conformanceCases.length);
    expect(casesMatching("||").length).toBe(conformanceCases.length);
  });

  it("takes the cases whose name contains the filter", () => {
    const got = names("dh128");
    expect(got.length).toBeGreaterThan(1);
    expect(got.every((n) => n.includes("dh128"))).toBe(true);
    expect(got).toEqual(conformanceCases.map((c) => c.name).filter((n) => n.includes("dh128")));
  });

  it("takes a case matching any part of a |-separated filter, in the cases' order, each once", () => {
    // scripts/experiments/applied.sh's filter for the attention backward's tiles: the short head-dim-64 cases.
    const got = names("lens[1,17,64,128,5]|lens[20,20]|lens[9,70]|lens[300,7]");
    expect(got).toEqual([
      "attention bf16 nh2 dh64 lens[1,17,64,128,5] alibi",
      "attention bf16 nh2 dh64 lens[20,20] mask positions",
      "attention bf16 nh2 dh64 lens[9,70] dropout0.2 alibi",
      "attention bf16 nh2 dh64 lens[300,7] alibi",
    ]);
    expect(names("lens[20,20]|lens[20,20]|dh64 lens[20")).toEqual(["attention bf16 nh2 dh64 lens[20,20] mask positions"]);
  });

  it("takes nothing for a filter no case name contains", () => {
    expect(names("no such case")).toEqual([]);
  });
});
