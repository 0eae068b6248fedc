/**
 * Fetch one file from a remote (http(s):// URL, file:// URL, object store — s3://, gs://, hf:// —
 * or plain folder path) into the local cache: written to a temporary file of this process then
 * renamed, with a timeout per attempt and retries, so a dead server fails with an error instead of
 * hanging, and ranks sharing a cache folder never write into each other's file. With `expectBytes` /
 * `expectHash` the file is checked before the rename, so a transfer cut short is retried instead of
 * being cached as complete. HTTP 4xx answers (but 408, 425, 429) are not retried. An http(s):// URL
 * with user:password@ is fetched with that Basic authorization (fetch refuses credentials in a URL);
 * messages show it as user:***@.
 */
import fs from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { hashHex } from "../mds/hashing.js";
import { isObjectStoreUrl, openObjectUrl, RemoteError } from "./remotes/index.js";

export interface DownloadOptions {
  timeoutMs?: number;
  retries?: number;
  /** Refuse objects larger than this (index.json's size for a shard): transfers stop there, nothing is stored. */
  maxBytes?: number;
  /**
   * The exact size the file must have (index.json's for a shard): a shorter (or longer) transfer is
   * not renamed into place but retried like a transient failure.
   */
  expectBytes?: number;
  /** A digest the file must have (one index.json lists), checked like the size before the rename. */
  expectHash?: { algo: string; hex: string };
}

/**
 * An HTTP status that a retry will not change (missing, denied, gone: 4xx except 408 Request Timeout,
 * 425 Too Early and 429 Too Many Requests).
 */
function permanentStatus(status: number): boolean {
  return status >= 400 && status < 500 && ![408, 425, 429].includes(status);
}

/**
 * The error's message with the causes undici hides behind "fetch failed": their codes and messages
 * ("fetch failed (ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:9)").
 */
function describeError(err: unknown): string {
  const e = err as Error & { cause?: unknown };
  let msg = e?.message ?? String(err);
  const seen = new Set<unknown>([err]);
  let c = e?.cause as (Error & { code?: string; cause?: unknown; errors?: unknown[] }) | undefined;
  while (c && typeof c === "object" && !seen.has(c)) {
    seen.add(c);
    const inner = c.message || (c.errors?.[0] as Error | undefined)?.message || "";
    const code = c.code ?? (c.errors?.[0] as { code?: string } | undefined)?.code;
    const part = code && !inner.includes(code) ? `${code}: ${inner}` : inner;
    if (part && !msg.includes(part)) msg += ` (${part})`;
    c = c.cause as typeof c;
  }
  return msg;
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

/**
 * `remote` with `parts` appended to its path. An http(s):// URL keeps its query and fragment after
 * the new path (a signed URL's or SAS token's `?sig=…` stays a query, not part of a file name).
 */
export function joinRemote(remote: string, ...parts: string[]): string {
  const rel = parts.filter(Boolean).join("/");
  if (/^https?:\/\//i.test(remote)) {
    const cut = remote.search(/[?#]/);
    const [base, tail] = cut < 0 ? [remote, ""] : [remote.slice(0, cut), remote.slice(cut)];
    return rel ? base.replace(/\/+$/, "") + "/" + rel + tail : remote;
  }
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(remote)) return rel ? remote.replace(/\/+$/, "") + "/" + rel : remote;
  return path.join(remote, rel);
}

/** scheme:// (group 1) and the userinfo before its @ (group 2), at the start of a URL. */
const USERINFO = /^([a-z][a-z0-9+.-]*:\/\/)([^/?#]*)@/i;

/**
 * `url` fit to show: the userinfo of scheme://user:password@host becomes user:***@ (a lone user
 * name, often a token, becomes ***@). Other text is returned as is.
 */
export function redactUrl(url: string): string {
  return url.replace(USERINFO, (_m, scheme: string, info: string) => {
    const colon = info.indexOf(":");
    return `${scheme}${colon >= 0 ? `${info.slice(0, colon)}:***` : "***"}@`;
  });
}

/** `text` with the URL `src` redacted, and its password (raw or decoded) nowhere. */
function hideUserinfo(text: string, src: string): string {
  let out = text.split(src).join(redactUrl(src));
  const info = USERINFO.exec(src)?.[2];
  if (info) {
    const secret = info.includes(":") ? info.slice(info.indexOf(":") + 1) : info;
    let decoded = secret;
    try {
      decoded = decodeURIComponent(secret);
    } catch {}
    for (const s of [info, secret, decoded]) if (s.length >= 3) out = out.split(s).join("***");
  }
  return out;
}

/** An http(s):// URL without its userinfo, and the Basic authorization the userinfo stood for. */
function httpTarget(src: string): { url: string; authorization?: string } {
  const u = new URL(src);
  if (!u.username && !u.password) return { url: src };
  const authorization = `Basic ${Buffer.from(`${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`).toString("base64")}`;
  u.username = "";
  u.password = "";
  return { url: u.href, authorization };
}

let tmpCounter = 0;

/**
 * Checks the temporary file against the size and digest expected, before it is renamed into place:
 * a mismatch (a transfer cut short, damaged bytes) is an error of this attempt, retried like a
 * transient failure, and never becomes a cached "complete" file.
 */
async function checkContent(tmp: string, o: DownloadOptions): Promise<void> {
  if (o.expectBytes !== undefined) {
    const got = (await fs.stat(tmp)).size;
    if (got !== o.expectBytes) {
      throw new Error(`expected ${o.expectBytes} bytes (the size index.json lists), received ${got}`);
    }
  }
  if (o.expectHash) {
    const got = await hashHex(o.expectHash.algo, new Uint8Array(await fs.readFile(tmp)));
    const want = o.expectHash.hex.toLowerCase();
    if (got !== want) throw new Error(`expected ${o.expectHash.algo} ${want} (the hash index.json lists), received data hashing to ${got}`);
  }
}

async function fetchOnce(src: string, dest: string, tmp: string, timeoutMs: number, o: DownloadOptions): Promise<void> {
  const maxBytes = o.maxBytes;
  await fs.mkdir(path.dirname(dest), { recursive: true });
  if (isObjectStoreUrl(src)) {
    const { store, key } = await openObjectUrl(src);
    await store.get(key, tmp, { maxBytes, signal: AbortSignal.timeout(timeoutMs) });
  } else if (/^https?:\/\//.test(src)) {
    const { url, authorization } = httpTarget(src);
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), ...(authorization ? { headers: { Authorization: authorization } } : {}) });
    if (!res.ok) {
      const err = new Error(`HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ""}`);
      await res.body?.cancel().catch(() => undefined);
      throw permanentStatus(res.status) ? Object.assign(err, { code: "EHTTPSTATUS" }) : err;
    }
    await fs.writeFile(tmp, await boundedBody(res, maxBytes ?? Number.MAX_SAFE_INTEGER));
  } else {
    const file = src.startsWith("file://") ? fileURLToPath(src) : src;
    const size = (await fs.stat(file)).size;
    if (maxBytes !== undefined && size > maxBytes) throw tooLong(`${size} bytes, more than the ${maxBytes} expected`);
    await fs.copyFile(file, tmp);
  }
  await checkContent(tmp, o);
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
        await fetchOnce(src, dest, tmp, timeoutMs, opts);
        return;
      } catch (e) {
        last = e;
        const code = (e as NodeJS.ErrnoException).code;
        // A missing file will not appear, an oversized one will not shrink, a 404/403/410 will not change.
        if (code === "ENOENT" || code === "EFBIG" || code === "EHTTPSTATUS") break;
        if (e instanceof RemoteError && e.permanent) throw e; // already names the object and the cause
      }
    }
  } finally {
    await fs.rm(tmp, { force: true });
  }
  const err = last as Error;
  let why = err?.name === "TimeoutError" ? `timed out after ${timeoutMs} ms` : err instanceof RemoteError ? err.message.replace(`${src}: `, "") : describeError(last);
  if (why === "timed out") why += ` after ${timeoutMs} ms`;
  throw new Error(hideUserinfo(`${src}: download failed after ${tries} attempt(s): ${why}`, src));
}
