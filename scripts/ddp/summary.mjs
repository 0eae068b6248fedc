// Summary of scripts/ddp/scaling.sh's runs: per-run step times and allocations, then for each global
// batch the 1- vs 2-GPU throughput (scaling) and loss curves. Usage: node summary.mjs DIR b256 b1024
// Exits 1 when a pair of runs is missing or the 2-GPU loss curve strays from the 1-GPU one: mean relative
// difference over DDP_MAX_MEAN_GAP (default 1%; recorded 0.06–0.32%) or any step over DDP_MAX_GAP
// (default 5%; recorded ≤ 2.03%). Same global batch, same data order and masks: only rounding differs.
import * as fs from "node:fs";
const dir = process.argv[2];
const read = (n) => {
  const f = `${dir}/${n}/metrics.jsonl`;
  if (!fs.existsSync(f)) return null;
  return fs.readFileSync(f, "utf8").trim().split("\n").map((l) => JSON.parse(l)).filter((r) => r.type === "train");
};
const mean = (a) => a.reduce((x, y) => x + y, 0) / a.length;
const last = (rs) => rs[rs.length - 1];
const maxMean = Number(process.env.DDP_MAX_MEAN_GAP ?? 0.01);
const maxStep = Number(process.env.DDP_MAX_GAP ?? 0.05);
let failed = false;
const names = fs.readdirSync(dir).filter((n) => fs.existsSync(`${dir}/${n}/metrics.jsonl`)).sort();
console.log("run | steps | tokens/s (window) | step ms median / min / max (last 50) | data wait ms | device allocations first → last step | reserved GiB");
for (const n of names) {
  const rs = read(n);
  const t = rs.slice(-50).map((r) => r.step_ms ?? NaN).sort((a, b) => a - b);
  const q = (f) => t[Math.min(t.length - 1, Math.floor(f * t.length))]?.toFixed(1);
  console.log(`${n} | ${rs.length} | ${(last(rs).tokens_per_sec / 1e3).toFixed(1)}k | ${q(0.5)} / ${q(0)} / ${q(1)} | ${mean(rs.slice(-50).map((r) => r.data_wait_ms ?? 0)).toFixed(2)} | ${rs[0].device_allocations ?? "n/a"} → ${last(rs).device_allocations ?? "n/a"} | ${last(rs).reserved_gib ?? "n/a"}`);
}
for (const b of process.argv.slice(3)) {
  const g1 = read(`g1-${b}`), g2 = read(`g2-${b}`);
  if (!g1 || !g2) { console.log(`FAIL ${b}: a run is missing`); failed = true; continue; }
  const t1 = last(g1).tokens_per_sec, t2 = last(g2).tokens_per_sec;
  const tail = (rs) => rs.slice(-50);
  const wait = (rs) => ("data_wait_ms" in rs[0] ? mean(tail(rs).map((r) => r.data_wait_ms)).toFixed(1) : "n/a");
  const ms = (rs) => ("step_ms" in rs[0] ? mean(tail(rs).map((r) => r.step_ms)).toFixed(1) : "n/a");
  console.log(`global batch ${b.slice(1)}: 1 GPU ${(t1 / 1e3).toFixed(1)}k tok/s (MFU ${(100 * last(g1).mfu).toFixed(1)}%, step ${ms(g1)} ms, data wait ${wait(g1)} ms) | ` +
    `2 GPUs ${(t2 / 1e3).toFixed(1)}k tok/s (MFU ${(100 * last(g2).mfu).toFixed(1)}%, step ${ms(g2)} ms, data wait ${wait(g2)} ms) | scaling ${(t2 / t1).toFixed(2)}x`);
  const at = new Map(g2.map((r) => [r.step, r.loss]));
  const rows = g1.filter((r) => r.step % 25 === 0 || r.step <= 5).map((r) => `${r.step}: ${r.loss.toFixed(4)} / ${at.get(r.step)?.toFixed(4)}`);
  console.log(`  loss 1 GPU / 2 GPUs at step ${rows.join(", ")}`);
  const n = Math.min(g1.length, g2.length);
  const d = []; for (let i = 0; i < n; i++) d.push(Math.abs(g1[i].loss - g2[i].loss) / g1[i].loss);
  const ok = n > 0 && g1.length === g2.length && d.every(Number.isFinite) && mean(d) <= maxMean && Math.max(...d) <= maxStep;
  if (!ok) failed = true;
  console.log(`  ${ok ? "PASS" : "FAIL"} relative loss difference: mean ${(100 * mean(d)).toFixed(2)}% (≤ ${100 * maxMean}%), max ${(100 * Math.max(...d)).toFixed(2)}% (≤ ${100 * maxStep}%) over ${n} steps${g1.length === g2.length ? "" : ` (runs of ${g1.length} and ${g2.length} steps)`}`);
}
process.exitCode = failed ? 1 : 0;
