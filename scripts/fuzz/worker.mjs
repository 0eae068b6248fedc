// Runs one fuzz target inside a worker thread so the parent can enforce a per-input deadline
// (worker.terminate() interrupts even a synchronous infinite loop) and a heap limit (a lying length
// field that makes a parser allocate ends this worker, not the test process).
import { register } from "node:module";
import { parentPort, workerData } from "node:worker_threads";

// Workspace TypeScript sources load without a build through the trainer's source hooks.
register(new URL("../../packages/trainer/src/from-source/ts-hooks.mjs", import.meta.url));
const fc = (await import("fast-check")).default;
const { targetUrl, exportNames, seed, runs, state, rssLimitBytes } = workerData;
const mod = await import(targetUrl);
const { verdict } = await import("./verdict.mjs");
// state[0]: inputs started; state[1]: 1 while an input is being parsed (read by the watchdog).
const shared = new Int32Array(state);

for (const exportName of exportNames) {
  const target = mod[exportName];
  if (!target) throw new Error(`${targetUrl}: no export named ${exportName}`);
  parentPort.postMessage({ type: "done", exportName, summary: await runTarget(target, exportName) });
}

async function runTarget(target, exportName) {
  const tally = { runs: 0, accepted: 0, rejected: 0, errorNames: {} };
  const started = Date.now();
  const property = fc.asyncProperty(target.arbitrary, async (input) => {
    tally.runs++;
    parentPort.postMessage({ type: "current", index: tally.runs, input: target.describe ? target.describe(input) : safeJson(input) });
    Atomics.add(shared, 0, 1);
    Atomics.store(shared, 1, 1);
    const rssBefore = process.memoryUsage.rss();
    let outcome;
    try {
      const result = await target.run(input);
      if (target.check) target.check(result, input);
      outcome = null;
      tally.accepted++;
    } catch (e) {
      outcome = verdict(e, target.source(input), target.field);
      if (outcome === null) {
        tally.rejected++;
        const name = e?.name ?? "?";
        tally.errorNames[name] = (tally.errorNames[name] ?? 0) + 1;
      }
    } finally {
      Atomics.store(shared, 1, 0);
    }
    const grew = process.memoryUsage.rss() - rssBefore;
    if (outcome === null && grew > rssLimitBytes) outcome = `resident memory grew by ${(grew / 2 ** 20).toFixed(0)} MiB for one input`;
    if (outcome !== null) throw new Error(outcome);
  });
  const details = await fc.check(property, { seed, numRuns: runs[exportName] });
  return {
    name: target.name,
    runs: details.failed ? details.numRuns : runs[exportName],
    accepted: tally.accepted,
    rejected: tally.rejected,
    errorNames: tally.errorNames,
    ms: Date.now() - started,
    seed,
    failure: details.failed
      ? {
          kind: "bug",
          message: details.errorInstance instanceof Error ? details.errorInstance.message : String(details.errorInstance),
          input: target.describe ? target.describe(details.counterexample[0]) : safeJson(details.counterexample[0]),
          path: details.counterexamplePath,
        }
      : null,
  };
}

function safeJson(x) {
  try {
    return JSON.stringify(x, (_k, v) => (typeof v === "bigint" ? `${v}n` : v instanceof Uint8Array ? `<${v.length} bytes>` : v)).slice(0, 400);
  } catch {
    return String(x).slice(0, 400);
  }
}
