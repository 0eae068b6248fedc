/**
 * Fetch one file from a remote (http(s):// URL, file:// URL, object store — s3://, gs://, hf:// —
 * or plain folder path) into the local cache: written to a temporary file of this process then
 * renamed, with a timeout per attempt and retries, so a dead server fails with an error instead of
 * hanging, and ranks sharing a cache folder never write into each other's file.
 */
import fs from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { isObjectStoreUrl, openObjectUrl, RemoteError } from "./remotes/index.js";

export interface DownloadOptions {
  timeoutMs?: number;
  retries?: number;
  /** Refuse objects larger than this (object stores stop the transfer there). */
  maxBytes?: number;
}

export function joinRemote(remote: string, ...parts: string[]): string {
  const rel = parts.filter(Boolean).join("/");
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(remote)) return rel ? remote.replace(/\/+$/, "") + "/" + rel : remote;
  return path.join(remote, rel);
}

let tmpCounter = 0;

async function fetchOnce(src: string, dest: string, tmp: string, timeoutMs: number, maxBytes: number | undefined): Promise<void> {
  await fs.mkdir(path.dirname(dest), { recursive: true });
  if (isObjectStoreUrl(src)) {
    const { store, key } = await openObjectUrl(src);
    await store.get(key, tmp, { maxBytes, signal: AbortSignal.timeout(timeoutMs) });
  } else if (/^https?:\/\//.test(src)) {
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
  const tmp = `${dest}.${process.pid}.${++tmpCounter}.tmp`;
  let last: unknown;
  try {
    for (let attempt = 0; attempt <= retries; attempt++) {
      if (attempt > 0) await new Promise((r) => setTimeout(r, Math.min(2000, 100 * 2 ** attempt)));
      try {
        await fetchOnce(src, dest, tmp, timeoutMs, opts.maxBytes);
        return;
      } catch (e) {
        last = e;
        if ((e as NodeJS.ErrnoException).code === "ENOENT") break; // a missing file will not appear
        if (e instanceof RemoteError && e.permanent) throw e; // already names the object and the cause
      }
    }
  } finally {
    await fs.rm(tmp, { force: true });
  }
  const err = last as Error;
  let why = err?.name === "TimeoutError" ? `timed out after ${timeoutMs} ms` : err instanceof RemoteError ? err.message.replace(`${src}: `, "") : err?.message ?? String(last);
  if (why === "timed out") why += ` after ${timeoutMs} ms`;
  throw new Error(`${src}: download failed after ${retries + 1} attempt(s): ${why}`);
}
