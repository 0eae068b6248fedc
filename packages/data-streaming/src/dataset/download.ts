/**
 * Fetch one file from a remote (http(s):// URL, file:// URL or plain folder path) into the local
 * cache: written to `<dest>.tmp` then renamed, with a timeout per attempt and retries, so a dead
 * server fails with an error instead of hanging.
 */
import fs from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";

export interface DownloadOptions {
  timeoutMs?: number;
  retries?: number;
}

export function joinRemote(remote: string, ...parts: string[]): string {
  const rel = parts.filter(Boolean).join("/");
  if (/^https?:\/\//.test(remote) || remote.startsWith("file://")) return remote.replace(/\/+$/, "") + "/" + rel;
  return path.join(remote, rel);
}

async function fetchOnce(src: string, dest: string, timeoutMs: number): Promise<void> {
  const tmp = `${dest}.tmp`;
  await fs.mkdir(path.dirname(dest), { recursive: true });
  if (/^https?:\/\//.test(src)) {
    const res = await fetch(src, { signal: AbortSignal.timeout(timeoutMs) });
    if (!res.ok) throw new Error(`HTTP ${res.status} ${res.statusText}`);
    await fs.writeFile(tmp, new Uint8Array(await res.arrayBuffer()));
  } else {
    const file = src.startsWith("file://") ? fileURLToPath(src) : src;
    await fs.copyFile(file, tmp);
  }
  await fs.rename(tmp, dest);
}

export async function download(src: string, dest: string, opts: DownloadOptions = {}): Promise<void> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const retries = opts.retries ?? 2;
  let last: unknown;
  for (let attempt = 0; attempt <= retries; attempt++) {
    try {
      await fetchOnce(src, dest, timeoutMs);
      return;
    } catch (e) {
      last = e;
      if ((e as NodeJS.ErrnoException).code === "ENOENT") break; // a missing file will not appear
    }
  }
  await fs.rm(`${dest}.tmp`, { force: true });
  const why = (last as Error)?.name === "TimeoutError" ? `timed out after ${timeoutMs} ms` : (last as Error)?.message ?? String(last);
  throw new Error(`${src}: download failed after ${retries + 1} attempt(s): ${why}`);
}
