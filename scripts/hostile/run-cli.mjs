// One `mosaicbert` CLI process per hostile case, for scripts/hostile-cli.mjs and scripts/hostile-data-cli.mjs:
// the built CLI (packages/trainer/dist/cli.js) or, with fromSrc, the TypeScript sources; peak resident memory
// from report-rss.mjs; killed after 60 s. Resolves to { code, signal, s, mib, stderr }.
import { spawn } from "node:child_process";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../..", import.meta.url));
const HOOKS = path.join(root, "packages/trainer/src/from-source/register-ts.mjs");
const RSS = path.join(root, "packages/trainer/src/testing/report-rss.mjs");

export function cliRunner({ fromSrc, env = {} }) {
  const CLI = fromSrc ? path.join(root, "packages/trainer/src/cli.ts") : path.join(root, "packages/trainer/dist/cli.js");
  const pre = fromSrc ? ["--import", HOOKS] : [];
  return (args, extraEnv = {}) =>
    new Promise((resolve) => {
      const t0 = Date.now();
      const p = spawn(process.execPath, [...pre, "--import", RSS, CLI, ...args], {
        stdio: ["ignore", "ignore", "pipe"],
        env: { ...process.env, ...env, ...extraEnv },
      });
      let stderr = "";
      p.stderr.on("data", (d) => (stderr += String(d)));
      const killer = setTimeout(() => p.kill("SIGKILL"), 60_000);
      p.on("close", (code, signal) => {
        clearTimeout(killer);
        const kib = Number(/\[maxrss-kib (\d+)\]/.exec(stderr)?.[1] ?? NaN);
        resolve({ code, signal, s: (Date.now() - t0) / 1000, mib: kib / 1024, stderr });
      });
    });
}
