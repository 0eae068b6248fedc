import { describe, expect, it } from "vitest";
import { runFuzz, runFuzzTargets } from "../../../scripts/fuzz/runner.mjs";

// The fuzz harness itself (scripts/fuzz/) must report each kind of parser failure it exists to find.
const TARGET = new URL("./harness.fuzz-target.ts", import.meta.url);

describe("fuzz harness", () => {
  it("reports an engine error escaping from a parser, an error without the file name, and passes a careful parser", async () => {
    const r = await runFuzzTargets(TARGET, ["unchecked", "anonymous", "careful"], { runs: 200 });
    expect(r.unchecked!.failure?.kind).toBe("bug");
    expect(r.unchecked!.failure?.message).toMatch(/^TypeError escaped from the parser/);
    expect(r.anonymous!.failure?.message).toMatch(/does not name the source "fuzz\/harness.bin": Error: bad magic/);
    expect(r.careful!.failure).toBeNull();
    expect(r.careful!.accepted! + r.careful!.rejected!).toBe(200);
    expect(r.careful!.rejected).toBeGreaterThan(0);
  });

  it("stops an input that runs past the deadline", async () => {
    const r = await runFuzz(TARGET, "spins", { runs: 200, timeoutMs: 500 });
    expect(r.failure?.kind).toBe("hang");
    expect(r.failure?.input).toBeTruthy();
  });

  it("stops an input that exhausts the heap", async () => {
    const r = await runFuzz(TARGET, "hoards", { runs: 200, heapMb: 64, timeoutMs: 20_000 });
    expect(r.failure?.kind).toBe("oom");
  });
});
