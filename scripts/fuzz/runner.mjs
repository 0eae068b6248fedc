// Parent side of the fuzz harness: starts a worker per target, enforces the per-input deadline and
// the heap limit, and returns a summary. Used by the *.fuzz.test.ts files (small seeded sample) and
// by scripts/fuzz.mjs (the full-size run).
import { Worker } from "node:worker_threads";

const WORKER = new URL("./worker.mjs", import.meta.url);

/** Inputs per target: FUZZ_RUNS from the environment, else the given CI default. */
export function fuzzRuns(ciDefault) {
  const n = Number(process.env.FUZZ_RUNS ?? "");
  return Number.isInteger(n) && n > 0 ? n : ciDefault;
}

/** Seed for the run: FUZZ_SEED, else a fixed one so CI is reproducible. */
export function fuzzSeed() {
  const raw = process.env.FUZZ_SEED;
  return raw !== undefined && /^-?\d+$/.test(raw) ? Number(raw) : 20240611;
}

/** Runs one target; see runFuzzTargets. */
export async function runFuzz(targetUrl, exportName, opts = {}) {
  return (await runFuzzTargets(targetUrl, [exportName], opts))[exportName];
}

/**
 * Runs the named FuzzTarget exports of one module, one after the other, in a single worker (one
 * TypeScript start-up). A hang, heap exhaustion or crash ends the worker: that target gets the
 * failure and the targets after it are reported as not run.
 */
export function runFuzzTargets(targetUrl, exportNames, opts = {}) {
  // A number for every target, or a number per export name.
  const runs = Object.fromEntries(exportNames.map((n) => [n, typeof opts.runs === "object" ? opts.runs[n] ?? fuzzRuns(300) : opts.runs ?? fuzzRuns(300)]));
  const seed = opts.seed ?? fuzzSeed();
  const timeoutMs = opts.timeoutMs ?? Number(process.env.FUZZ_TIMEOUT_MS ?? 5000);
  const heapMb = opts.heapMb ?? 512;
  const state = new SharedArrayBuffer(8);
  const shared = new Int32Array(state);
  const worker = new Worker(WORKER, {
    workerData: { targetUrl: String(targetUrl), exportNames, seed, runs, state, rssLimitBytes: (opts.rssLimitMb ?? 1024) * 2 ** 20 },
    resourceLimits: { maxOldGenerationSizeMb: heapMb },
  });
  const results = {};
  let current = null;
  let started = Date.now();
  return new Promise((resolve) => {
    let lastCount = -1;
    let lastChange = Date.now();
    let settled = false;
    const finish = () => {
      if (settled) return;
      settled = true;
      clearInterval(timer);
      void worker.terminate();
      resolve(results);
    };
    const failed = (kind, message) => {
      const name = exportNames.find((n) => !(n in results));
      if (name !== undefined) {
        results[name] = { name, runs: current?.index ?? 0, accepted: null, rejected: null, errorNames: {}, ms: Date.now() - started, seed, failure: { kind, message, input: current?.input ?? null, index: current?.index ?? null } };
        for (const n of exportNames) if (!(n in results)) results[n] = { name: n, runs: 0, accepted: null, rejected: null, errorNames: {}, ms: 0, seed, failure: { kind: "crash", message: `not run: the worker ended during ${name}`, input: null } };
      }
      finish();
    };
    const timer = setInterval(() => {
      const count = Atomics.load(shared, 0);
      const busy = Atomics.load(shared, 1) === 1;
      if (count !== lastCount) {
        lastCount = count;
        lastChange = Date.now();
      } else if (busy && Date.now() - lastChange > timeoutMs) {
        failed("hang", `input ${current?.index} did not finish within ${timeoutMs} ms`);
      }
    }, 100);
    worker.on("message", (m) => {
      if (m.type === "current") current = m;
      else if (m.type === "done") {
        results[m.exportName] = m.summary;
        current = null;
        started = Date.now();
        if (exportNames.every((n) => n in results)) finish();
      }
    });
    worker.on("error", (e) => {
      const oom = e?.code === "ERR_WORKER_OUT_OF_MEMORY";
      failed(oom ? "oom" : "crash", oom ? `input ${current?.index} exhausted the ${heapMb} MiB heap` : `worker died: ${e?.stack ?? e}`);
    });
    worker.on("exit", (code) => failed("crash", `worker exited with code ${code} before finishing`));
  });
}
