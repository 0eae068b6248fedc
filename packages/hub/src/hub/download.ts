import * as fs from "node:fs";
import * as path from "node:path";
import { createHash } from "node:crypto";
import { HubError, bodyDetail, httpError, isNetworkError, networkError, scrub } from "./env.js";
import { HubTimeoutError, fetchFollowing } from "./listing.js";

export interface RemoteFile {
  path: string;
  size: number;
  /** Git blob id (sha1 of "blob <size>\0" + content) for regular files. */
  oid?: string;
  /** sha256 of the content for LFS (and Xet-backed) files. */
  lfsSha256?: string;
}

export interface DownloadProgress {
  file: string;
  done: number;
  total: number;
}

export interface DownloadOptions {
  url: string;
  token?: string;
  fetch?: typeof fetch;
  /** Attempts after a dropped connection before giving up; each resumes where the last stopped. */
  retries?: number;
  onProgress?: (p: DownloadProgress) => void;
  /**
   * The only origin the token is sent to (the configured Hub endpoint); default: the url's origin.
   * Redirects to other hosts (the LFS CDN, or anywhere a hostile server points) get no token.
   */
  authOrigin?: string;
  /** A server silent this long (milliseconds) ends the download; default 5,000. */
  timeoutMs?: number;
  /**
   * Folder of the partial download (see incompleteFile); default `.incomplete` beside `dest`. pullModel
   * keeps it outside the snapshot, where no repo file can be.
   */
  tempDir?: string;
}

/**
 * Where a partial download of `f` lives in `tempDir`: a name derived from the file's path, size and
 * listed hash (`<sha256 hex>.part`), so a killed run's bytes are resumed by the next run for the same
 * file, and no repo file ("X.part" beside "X") can ever be taken for it.
 */
export function incompleteFile(f: RemoteFile, tempDir: string): string {
  const key = createHash("sha256").update(JSON.stringify([f.path, f.size, f.lfsSha256 ?? f.oid ?? null])).digest("hex");
  return path.join(tempDir, `${key}.part`);
}

/** Hashes that identify a file: sha256 for LFS files, the git blob sha1 otherwise. */
function hashers(f: RemoteFile) {
  const sha256 = f.lfsSha256 ? createHash("sha256") : null;
  const sha1 = !f.lfsSha256 && f.oid && /^[0-9a-f]{40}$/.test(f.oid) ? createHash("sha1").update(`blob ${f.size}\0`) : null;
  return {
    update(b: Uint8Array) {
      sha256?.update(b);
      sha1?.update(b);
    },
    check(file: string): void {
      if (sha256) {
        const got = sha256.digest("hex");
        if (got !== f.lfsSha256) throw new HubError(`${f.path}: sha256 mismatch: expected ${f.lfsSha256}, got ${got} (corrupted download, removed ${file})`);
      } else if (sha1) {
        const got = sha1.digest("hex");
        if (got !== f.oid) throw new HubError(`${f.path}: git blob id mismatch: expected ${f.oid}, got ${got} (corrupted download, removed ${file})`);
      }
    },
  };
}

async function hashExisting(file: string, h: { update(b: Uint8Array): void }): Promise<void> {
  for await (const chunk of fs.createReadStream(file, { highWaterMark: 1 << 20 })) h.update(chunk as Buffer);
}

/** Whether a file on disk has the hash the listing gives (true when the listing gives none). */
export async function verifyFile(file: string, f: RemoteFile): Promise<boolean> {
  const h = hashers(f);
  await hashExisting(file, h);
  try {
    h.check(file);
    return true;
  } catch {
    return false;
  }
}

/** At most `max` bytes of an error response, as text (the rest is not read). */
async function readSome(res: Response, max = 65536): Promise<string> {
  if (!res.body) return "";
  const chunks: Uint8Array[] = [];
  let n = 0;
  try {
    for await (const c of res.body as unknown as AsyncIterable<Uint8Array>) {
      chunks.push(c);
      n += c.length;
      if (n >= max) break;
    }
  } catch { /* a broken error body: keep what came */ }
  await res.body.cancel().catch(() => {});
  return Buffer.concat(chunks).toString("utf8").slice(0, max);
}

/** A failure that retrying cannot fix (the server lies about the size): ends the download at once. */
class FatalDownloadError extends HubError {}

/**
 * Downloads `f` to `dest` through a partial file in `o.tempDir` (incompleteFile): one left by a killed
 * run is resumed with an HTTP Range request, dropped connections are retried from where they stopped,
 * and the finished file is checked (size, then sha256 for LFS files or the git blob id otherwise) before
 * it is renamed into place. The server is never allowed to send more than the listed size, and on any
 * failure the partial file (never a file of the repo) is removed.
 */
export async function downloadFile(f: RemoteFile, dest: string, o: DownloadOptions): Promise<void> {
  const part = incompleteFile(f, o.tempDir ?? path.join(path.dirname(dest), ".incomplete"));
  fs.mkdirSync(path.dirname(dest), { recursive: true });
  fs.mkdirSync(path.dirname(part), { recursive: true });
  const doFetch = o.fetch ?? fetch;
  const retries = o.retries ?? 3;
  const authOrigin = o.authOrigin ?? new URL(o.url).origin;
  const what = `downloading ${f.path}`;
  let lastError: unknown;
  try {
    for (let attempt = 0; attempt <= retries; attempt++) {
      let have = fs.existsSync(part) ? fs.statSync(part).size : 0;
      if (have > f.size) {
        fs.rmSync(part);
        have = 0;
      }
      if (have === f.size && f.size > 0) break;
      const headers: Record<string, string> = { "Accept-Encoding": "identity" };
      if (have > 0) headers.Range = `bytes=${have}-`;
      let res: Response;
      try {
        res = (await fetchFollowing(doFetch, o.url, { token: o.token, authOrigin, headers, what, timeoutMs: o.timeoutMs })).res;
      } catch (e) {
        if (!(e instanceof HubError && e.network)) throw e;
        lastError = e;
        continue;
      }
      if (res.status === 416) {
        // The server has nothing past our offset: the .part is stale; start over.
        await res.body?.cancel().catch(() => {});
        fs.rmSync(part, { force: true });
        continue;
      }
      if (res.status >= 500 && attempt < retries) {
        // Transient server trouble: try again (resuming from the .part).
        lastError = new HubError(`${what}: HTTP ${res.status}`, res.status);
        await res.body?.cancel().catch(() => {});
        continue;
      }
      if (!res.ok) throw httpError(what, res.status, bodyDetail(await readSome(res), o.token), o.token, res.headers.get("x-error-code"));
      if (have > 0 && res.status === 206) {
        // Only append when the server resumes exactly where the .part ends.
        const start = /^bytes (\d+)-/.exec(res.headers.get("content-range") ?? "");
        if (!start || Number(start[1]) !== have) {
          await res.body?.cancel().catch(() => {});
          fs.rmSync(part, { force: true });
          continue;
        }
      } else if (have > 0) have = 0; // server ignored the Range: rewrite from the start
      const out = fs.openSync(part, have > 0 ? "a" : "w");
      let done = have;
      try {
        o.onProgress?.({ file: f.path, done, total: f.size });
        if (!res.body) throw new HubError(`${what}: empty response body`);
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
          if (done + chunk.length > f.size) {
            await res.body.cancel().catch(() => {});
            throw new FatalDownloadError(`${what}: the server sent more than the ${f.size} bytes the listing declares; stopped`);
          }
          fs.writeSync(out, chunk);
          done += chunk.length;
          o.onProgress?.({ file: f.path, done, total: f.size });
        }
      } catch (e) {
        if (e instanceof FatalDownloadError || e instanceof HubTimeoutError || !(isNetworkError(e) || e instanceof HubError)) throw e;
        lastError = isNetworkError(e) ? networkError(what, o.url, e, o.token) : e;
        continue;
      } finally {
        fs.closeSync(out);
      }
      if (done === f.size) break;
      lastError = new HubError(`${what}: got ${done} of ${f.size} bytes`);
    }
    const size = fs.existsSync(part) ? fs.statSync(part).size : 0;
    if (size !== f.size) {
      const why = lastError instanceof Error ? lastError.message : String(lastError ?? "unknown error");
      throw new HubError(scrub(`${what}: incomplete after ${retries + 1} attempts (${size} of ${f.size} bytes; ${why})`, o.token), undefined, lastError instanceof HubError && lastError.network);
    }
    const h = hashers(f);
    await hashExisting(part, h);
    h.check(part);
    fs.renameSync(part, dest);
  } catch (e) {
    fs.rmSync(part, { force: true });
    throw e;
  } finally {
    try {
      fs.rmdirSync(path.dirname(part)); // only when empty: other partial downloads stay
    } catch { /* not empty, or gone */ }
  }
}
