import { spawn } from "node:child_process";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

const here = fileURLToPath(new URL(".", import.meta.url));

/**
 * A TypeScript entry of this package (`entry` relative to src/, e.g. "cli.ts") run in a child process with `env` added;
 * resolves with its exit code (−1: killed after `timeoutMs`), stdout and stderr.
 */
export function runChild(entry: string, args: string[], env: Record<string, string>, timeoutMs = 25_000): Promise<{ code: number | null; out: string; err: string }> {
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ["--import", join(here, "../from-source/register-ts.mjs"), join(here, "..", entry), ...args], {
      stdio: ["ignore", "pipe", "pipe"],
      env: { ...process.env, ...env },
    });
    let out = "";
    let err = "";
    p.stdout.on("data", (d) => (out += d));
    p.stderr.on("data", (d) => (err += d));
    const kill = setTimeout(() => p.kill("SIGKILL"), timeoutMs);
    p.on("exit", (code, signal) => {
      clearTimeout(kill);
      resolve({ code: code ?? (signal ? -1 : null), out, err });
    });
  });
}
