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
  /** Refuse objects larger than this (index.json's size for a shard): transfers stop there, nothing is stored. */
  maxBytes?: number;
}

/** A file larger than allowed: retrying would fetch the same bytes again. */
function tooLong(msg: string): Error {
  return Object.assign(new Error(msg), { code: "EFBIG" });
}

/** Reads a response body, stopping with an error as soon as it passes `maxBytes`. */
async function boundedBody(res: Response, maxBytes: number): Promise<Uint8Array> {
  const declared = Number(res.headers.get("content-length") ?? NaN);
  if (declared > maxBytes) throw tooLong(`the server sends ${declared} bytes, more than the ${maxBytes} expected`);
  const chunks: Uint8Array[] = [];
  let n = 0;
  for await (const c of res.body ?? []) {
    n += c.length;
    if (n > maxBytes) throw tooLong(`the body runs past the ${maxBytes} bytes expected`);
    chunks.push(c);
  }
  return Buffer.concat(chunks, n);
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
    await fs.writeFile(tmp, await boundedBody(res, maxBytes ?? Number.MAX_SAFE_INTEGER));
  } else {
    const file = src.startsWith("file://") ? fileURLToPath(src) : src;
    const size = (await fs.stat(file)).size;
    if (maxBytes !== undefined && size > maxBytes) throw tooLong(`${size} bytes, more than the ${maxBytes} expected`);
    await fs.copyFile(file, tmp);
  }
  await fs.rename(tmp, dest);
}

export async function download(src: string, dest: string, opts: DownloadOptions = {}): Promise<void> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const retries = opts.retries ?? 2;
  const tmp = `${dest}.${process.pid}.${++tmpCounter}.tmp`;
  let last: unknown;
  let tries = 0;
  try {
    for (let attempt = 0; attempt <= retries; attempt++) {
      tries = attempt + 1;
      if (attempt > 0) await new Promise((r) => setTimeout(r, Math.min(2000, 100 * 2 ** attempt)));
      try {
        await fetchOnce(src, dest, tmp, timeoutMs, opts.maxBytes);
        return;
      } catch (e) {
        last = e;
        const code = (e as NodeJS.ErrnoException).code;
        if (code === "ENOENT" || code === "EFBIG") break; // a missing file will not appear, an oversized one will not shrink
        if (e instanceof RemoteError && e.permanent) throw e; // already names the object and the cause
      }
    }
  } finally {
    await fs.rm(tmp, { force: true });
  }
  const err = last as Error;
  let why = err?.name === "TimeoutError" ? `timed out after ${timeoutMs} ms` : err instanceof RemoteError ? err.message.replace(`${src}: `, "") : err?.message ?? String(last);
  if (why === "timed out") why += ` after ${timeoutMs} ms`;
  throw new Error(`${src}: download failed after ${tries} attempt(s): ${why}`);
}
