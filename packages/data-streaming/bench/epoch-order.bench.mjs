// Cost of building one epoch's sample order (StreamingDataset.rankOrder + samplesPerRankPerEpoch) at
// pretraining scale, with MosaicBERT's settings (recipe.md: shuffle py1s, seed 9176, 128 canonical
// nodes, partition "orig", per-device batch 4096 / ranks, one DataLoader worker as the trainer uses).
// The dataset is synthetic: an index.json of C4-sized shards (~30k samples, 64 MiB each) and no shard
// files, since the order never reads samples. Each case runs in its own Node process with the default
// heap limit (under /usr/bin/time -v when present) so its peak RSS is its own and a heap
// exhaustion is reported instead of ending the bench. Runs the TypeScript sources (no build needed).
// `--mixes` adds weighted cases (several streams, §7.1 resampling): streams joined by `+`, each
// `SIZE@WEIGHT` with WEIGHT `pX` (proportion), `rX` (repeat) or `cX` (choose), e.g. C4 with a 10 M corpus
// `364868892@p0.9+10e6@p0.1`; `--mixes none` skips them, `--sizes none` the unweighted cases.
//
//   node packages/data-streaming/bench/epoch-order.bench.mjs [--sizes 10e6,50e6,364868892] [--ranks 1,8]
//        [--mixes 364868892@p0.9+10e6@p0.1,364868892@c300e6+10e6@r2.5] [--timeout-s 600]
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const GLOBAL_BATCH = 4096;
const SHARD_SAMPLES = 30_000;

function arg(name, dflt) {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : dflt;
}

/** A folder holding only index.json: shards of 29,000–30,999 samples (deterministic) summing to n. */
function syntheticIndex(n) {
  const dir = join(tmpdir(), `epoch-order-bench-${n}`);
  if (existsSync(join(dir, "index.json"))) return dir;
  mkdirSync(dir, { recursive: true });
  const shards = [];
  for (let s = 0, left = n; left > 0; s++) {
    const samples = Math.min(left, SHARD_SAMPLES - 1000 + ((s * 7919) % 2000));
    left -= samples;
    const name = `shard.${String(s).padStart(5, "0")}.mds`;
    shards.push({
      column_encodings: ["str", "str", "str"], column_names: ["text", "timestamp", "url"], column_sizes: [null, null, null],
      compression: null, format: "mds", hashes: [], raw_data: { basename: name, bytes: 67_000_000, hashes: {} },
      samples, size_limit: 67_108_864, version: 2, zip_data: null,
    });
  }
  writeFileSync(join(dir, "index.json"), JSON.stringify({ shards, version: 2 }));
  return dir;
}

/** `364868892@p0.9+10e6@p0.1` -> [{ n, proportion: 0.9 }, { n, proportion: 0.1 }]; a bare size is one unweighted stream. */
function parseCase(spec) {
  return spec.split("+").map((part) => {
    const [size, w] = part.split("@");
    const n = Number(size);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--mixes/--sizes: bad stream size in ${JSON.stringify(spec)}`);
    if (w === undefined) return { n };
    const key = { p: "proportion", r: "repeat", c: "choose" }[w[0]];
    const v = Number(w.slice(1));
    if (!key || !Number.isFinite(v)) throw new Error(`--mixes: weight must be pX, rX or cX, got ${JSON.stringify(w)} in ${JSON.stringify(spec)}`);
    return { n, [key]: v };
  });
}

async function child(spec, ranks) {
  const { StreamingDataset } = await import(new URL("../src/index.ts", import.meta.url).href);
  const parts = parseCase(spec);
  const streams = parts.length > 1 || Object.keys(parts[0]).length > 1
    ? parts.map(({ n, ...w }) => ({ local: syntheticIndex(n), ...w }))
    : undefined;
  const n = parts.reduce((a, p) => a + p.n, 0);
  const rank = ranks === 1 ? 0 : 3;
  const ds = await StreamingDataset.create({
    ...(streams ? { streams } : { local: syntheticIndex(parts[0].n) }), shuffle: true, shuffleAlgo: "py1s", shuffleSeed: 9176, numCanonicalNodes: 128, partitionAlgo: "orig",
    batchSize: GLOBAL_BATCH / ranks, predownload: 100_000, validateHash: false,
    world: { numNodes: 1, ranksPerNode: ranks, rank, workersPerRank: 1 },
  });
  const rss0 = process.memoryUsage().rss;
  let t = performance.now();
  const perRank = ds.samplesPerRankPerEpoch;
  const lengthMs = performance.now() - t;
  t = performance.now();
  const order = ds.rankOrder(0);
  const orderMs = performance.now() - t;
  const m = process.memoryUsage();
  console.log(JSON.stringify({
    n, epochSize: ds.epochSize, ranks, rank, shards: ds.shardSizes.length, perRank, orderLength: order.length, first: Array.from(order.slice(0, 3)),
    lengthMs: Math.round(lengthMs), orderMs: Math.round(orderMs), rssBeforeMiB: Math.round(rss0 / 2 ** 20),
    peakRssMiB: Math.round(process.resourceUsage().maxRSS / 1024), heapUsedMiB: Math.round(m.heapUsed / 2 ** 20),
    arrayBuffersMiB: Math.round(m.arrayBuffers / 2 ** 20),
  }));
}

function main() {
  const none = (v) => (v === "none" ? [] : v.split(","));
  const cases = [...none(arg("sizes", "10e6,50e6,364868892")), ...none(arg("mixes", "364868892@p0.9+10e6@p0.1,364868892@c300e6+10e6@r2.5"))];
  const rankList = arg("ranks", "1,8").split(",").map(Number);
  const timeoutS = Number(arg("timeout-s", "600"));
  const self = fileURLToPath(import.meta.url);
  const hook = fileURLToPath(new URL("../../trainer/src/from-source/register-ts.mjs", import.meta.url));
  const useTime = existsSync("/usr/bin/time");
  console.log(`epoch order, py1s / 128 canonical nodes / orig, global batch ${GLOBAL_BATCH}, node ${process.version}`);
  for (const n of cases) {
    for (const p of parseCase(n)) syntheticIndex(p.n); // written outside the measured process
    for (const ranks of rankList) {
      const cmd = [process.execPath, "--import", hook, self, "--child", String(n), String(ranks)];
      const t = performance.now();
      const r = useTime
        ? spawnSync("/usr/bin/time", ["-v", ...cmd], { encoding: "utf8", timeout: timeoutS * 1000, maxBuffer: 1 << 26 })
        : spawnSync(cmd[0], cmd.slice(1), { encoding: "utf8", timeout: timeoutS * 1000, maxBuffer: 1 << 26 });
      const wallS = ((performance.now() - t) / 1000).toFixed(1);
      const maxRss = /Maximum resident set size \(kbytes\): (\d+)/.exec(r.stderr ?? "")?.[1];
      const line = (r.stdout ?? "").trim().split("\n").find((l) => l.startsWith("{"));
      const tag = `N=${n} ranks=${ranks}${ranks > 1 ? " (rank 3)" : ""}`;
      if (line && r.status === 0) {
        const o = JSON.parse(line);
        console.log(`${tag}${o.epochSize !== o.n ? ` (epoch ${o.epochSize})` : ""}: samplesPerRankPerEpoch ${o.lengthMs} ms, rankOrder ${o.orderMs} ms (${o.orderLength} ids), ` +
          `process wall ${wallS} s, peak RSS ${maxRss ? Math.round(maxRss / 1024) : o.peakRssMiB} MiB (before: ${o.rssBeforeMiB} MiB), ` +
          `heap used after ${o.heapUsedMiB} MiB, array buffers ${o.arrayBuffersMiB} MiB`);
      } else {
        const why = r.error?.code === "ETIMEDOUT" ? `timed out after ${timeoutS} s` : `exit ${r.status ?? r.signal}`;
        const err = (r.stderr ?? "").split("\n").filter((l) => /error|heap|memory|killed/i.test(l) && !/Exit status/.test(l)).slice(0, 3).join(" | ");
        console.log(`${tag}: FAILED (${why}) after ${wallS} s, peak RSS ${maxRss ? Math.round(maxRss / 1024) : "?"} MiB: ${err}`);
      }
    }
  }
}

const at = process.argv.indexOf("--child");
if (at >= 0) await child(process.argv[at + 1], Number(process.argv[at + 2]));
else main();
