// The Hub's HTTP answers read defensively: bodies with a size cap, redirects followed by hand so the
// token only ever goes to the configured endpoint's origin, and the recursive file listing validated
// (paths, sizes, hashes) and paginated only on that origin.
import { HubError, bodyDetail, httpError, isNetworkError, networkError } from "./env.js";
import type { RemoteFile } from "./download.js";
import { printable, capText } from "../text.js";

/** What a Hub server may make one pull cost. */
export interface HubLimits {
  /** Largest JSON answer (revision info, one page of the listing), bytes; default 64 MiB. */
  maxListingBytes?: number;
  /** Most files a repo listing may hold; default 100,000. */
  maxFiles?: number;
  /** Most pages a listing may span; default 10,000. */
  maxPages?: number;
  /**
   * Longest wait for a server that sends nothing (no answer, or a body that stalls), milliseconds;
   * default 5,000 (huggingface_hub waits 10 s; 5 s keeps a whole CLI run against a silent server under
   * 10 s). A stalled request fails at once: it is not retried.
   */
  timeoutMs?: number;
}

export const DEFAULT_TIMEOUT_MS = 5_000;

export function hubLimits(l: HubLimits = {}): Required<HubLimits> {
  return { maxListingBytes: l.maxListingBytes ?? 64 * 2 ** 20, maxFiles: l.maxFiles ?? 100_000, maxPages: l.maxPages ?? 10_000, timeoutMs: l.timeoutMs ?? DEFAULT_TIMEOUT_MS };
}

/** A server that went silent past the timeout: never retried. */
export class HubTimeoutError extends HubError {}

/** A response body as text, refused past `max` bytes (the stream is cancelled, nothing more is read). */
export async function readBody(res: Response, max: number, what: string): Promise<string> {
  const declared = Number(res.headers.get("content-length") ?? "");
  if (Number.isFinite(declared) && declared > max) {
    await res.body?.cancel().catch(() => {});
    throw new HubError(`${what}: the server's answer of ${declared} bytes exceeds the ${max}-byte limit (maxListingBytes)`);
  }
  if (!res.body) return "";
  const chunks: Uint8Array[] = [];
  let n = 0;
  try {
    for await (const c of res.body as unknown as AsyncIterable<Uint8Array>) {
      n += c.length;
      if (n > max) {
        await res.body.cancel().catch(() => {});
        throw new HubError(`${what}: the server's answer exceeds the ${max}-byte limit (maxListingBytes)`);
      }
      chunks.push(c);
    }
  } catch (e) {
    if (e instanceof HubError) throw e;
    if (isNetworkError(e) === false && (e as { cause?: unknown })?.cause instanceof HubError) throw (e as { cause: HubError }).cause;
    throw new HubError(`${what}: the answer broke off (${printable(capText(e instanceof Error ? e.message : String(e), 200))})`, undefined, true);
  }
  return Buffer.concat(chunks).toString("utf8");
}

/**
 * fetch with redirects followed by hand (at most 5): the Authorization header goes only to URLs on
 * `authOrigin` (the configured endpoint), never to a CDN or any other host a server redirects to.
 * A request (and then its body) that receives nothing for `timeoutMs` is aborted with a HubTimeoutError.
 */
export async function fetchFollowing(
  doFetch: typeof fetch,
  url: string,
  o: { token?: string; authOrigin: string; headers?: Record<string, string>; what: string; timeoutMs?: number },
): Promise<{ res: Response; url: string }> {
  const idleMs = o.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  let current = url;
  for (let hop = 0; hop <= 5; hop++) {
    const headers: Record<string, string> = { ...o.headers };
    if (o.token && new URL(current).origin === o.authOrigin) headers.Authorization = `Bearer ${o.token}`;
    const host = new URL(current).host;
    const ac = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => ac.abort(new HubTimeoutError(`${o.what}: ${host} sent nothing for ${idleMs / 1000} s (timeoutMs); giving up`)), idleMs);
      timer.unref();
    };
    arm();
    let res: Response;
    try {
      res = await doFetch(current, { headers, redirect: "manual", signal: ac.signal });
    } catch (e) {
      clearTimeout(timer);
      if (e instanceof HubTimeoutError) throw e;
      if (ac.signal.aborted && ac.signal.reason instanceof HubTimeoutError) throw ac.signal.reason;
      if (isNetworkError(e)) throw networkError(o.what, current, e, o.token);
      throw e;
    }
    const loc = res.status >= 300 && res.status < 400 ? res.headers.get("location") : null;
    if (!loc) {
      if (!res.body) {
        clearTimeout(timer);
        return { res, url: current };
      }
      // Every chunk re-arms the timer; the end of the body disarms it.
      const body = res.body.pipeThrough(new TransformStream<Uint8Array, Uint8Array>({
        transform(chunk, ctl) { arm(); ctl.enqueue(chunk); },
        flush() { clearTimeout(timer); },
      }));
      return { res: new Response(body, { status: res.status, statusText: res.statusText, headers: res.headers }), url: current };
    }
    clearTimeout(timer);
    await res.body?.cancel().catch(() => {});
    let next: URL;
    try {
      next = new URL(loc, current);
    } catch {
      throw new HubError(`${o.what}: the server redirected to an invalid URL '${capText(loc, 200)}'`);
    }
    if (next.protocol !== "https:" && next.protocol !== "http:") throw new HubError(`${o.what}: the server redirected to a ${next.protocol} URL`);
    current = next.href;
  }
  throw new HubError(`${o.what}: more than 5 redirects`);
}

/**
 * A listed path made safe to use as a relative file path: "owner/dir/file" with no empty, "." or ".."
 * segment, no backslash, no control character (no terminal escapes either), not absolute.
 */
export function safeRelPath(p: unknown): string {
  const show = (x: unknown) => (typeof x === "string" ? `'${printable(capText(x, 200))}'` : typeof x);
  if (typeof p !== "string" || p.length === 0 || p.length > 4096) throw new HubError(`the Hub listed an unsafe file path ${show(p)} (empty or too long)`);
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f-\u009f\\]/.test(p) || p !== printable(p)) throw new HubError(`the Hub listed an unsafe file path ${show(p)} (backslash or control character)`);
  if (p.split("/").some((seg) => seg === "" || seg === "." || seg === "..")) throw new HubError(`the Hub listed an unsafe file path ${show(p)} (absolute, or an empty, '.' or '..' segment)`);
  return p;
}

function isHash(x: unknown, len: number): x is string {
  return typeof x === "string" && x.length === len && /^[0-9a-f]+$/.test(x);
}

function isSize(x: unknown): x is number {
  return typeof x === "number" && Number.isSafeInteger(x) && x >= 0;
}

/** One listing item → a file to download (null for folders); refuses anything malformed. */
function toRemoteFile(item: unknown, where: string): RemoteFile | null {
  if (item === null || typeof item !== "object" || Array.isArray(item)) throw new HubError(`${where}: an entry is not an object`);
  const e = item as { type?: unknown; path?: unknown; size?: unknown; oid?: unknown; lfs?: unknown };
  if (e.type === "directory") return null;
  if (e.type !== "file") throw new HubError(`${where}: entry type ${typeof e.type === "string" ? `'${printable(capText(e.type, 40))}'` : typeof e.type} is neither file nor directory`);
  let p: string;
  try {
    p = safeRelPath(e.path);
  } catch (err) {
    throw new HubError(`${where}: ${(err as Error).message}`);
  }
  const lfs = e.lfs as { oid?: unknown; size?: unknown } | undefined | null;
  const size = lfs ? lfs.size : e.size;
  if (!isSize(size)) throw new HubError(`${where}: '${p}' has no valid size`);
  if (e.oid !== undefined && e.oid !== null && !isHash(e.oid, 40)) throw new HubError(`${where}: '${p}' has a malformed git blob id`);
  if (lfs && !isHash(lfs.oid, 64)) throw new HubError(`${where}: '${p}' has a malformed LFS sha256`);
  const f: RemoteFile = { path: p, size };
  if (typeof e.oid === "string") f.oid = e.oid;
  if (lfs) f.lfsSha256 = lfs.oid as string;
  return f;
}

/** The `rel="next"` URL of a Link header, if any. */
function nextLink(link: string | null): string | undefined {
  if (!link) return undefined;
  for (const part of link.split(",")) {
    const m = /^\s*<([^>]*)>\s*;(.*)$/.exec(part);
    if (m && /\brel\s*=\s*"?next"?/i.test(m[2]!)) return m[1];
  }
  return undefined;
}

/**
 * Every file of a repo revision (recursive tree listing), following `Link: rel="next"` pages only
 * on the endpoint's origin: a link to any other host is refused, so the token never leaves it.
 * Paths are checked (safeRelPath), and duplicates or a file that is also a folder are refused.
 */
export async function listRepoFiles(o: { hubUrl: string; repo: string; commit: string; token?: string; fetch: typeof fetch; limits: Required<HubLimits> }): Promise<RemoteFile[]> {
  const origin = new URL(o.hubUrl).origin;
  const what = `listing files of ${o.repo}@${o.commit.slice(0, 12)}`;
  let url: string | undefined = `${o.hubUrl}/api/models/${o.repo}/tree/${o.commit}?recursive=true&expand=false`;
  const files: RemoteFile[] = [];
  const seen = new Set<string>();
  for (let page = 0; url !== undefined; page++) {
    if (page >= o.limits.maxPages) throw new HubError(`${what}: more than ${o.limits.maxPages} pages (maxPages)`);
    const { res, url: at } = await fetchFollowing(o.fetch, url, { token: o.token, authOrigin: origin, headers: { Accept: "application/json" }, what, timeoutMs: o.limits.timeoutMs });
    if (new URL(at).origin !== origin) throw new HubError(`${what}: the listing was redirected to another host (${new URL(at).host}); refusing it`);
    const body = await readBody(res, o.limits.maxListingBytes, what);
    if (!res.ok) throw httpError(what, res.status, bodyDetail(body, o.token), o.token, res.headers.get("x-error-code"));
    let items: unknown;
    try {
      items = JSON.parse(body);
    } catch {
      throw new HubError(`${what}: the Hub answered with something that is not JSON`);
    }
    if (!Array.isArray(items)) throw new HubError(`${what}: expected a JSON array of files`);
    for (const item of items) {
      const f = toRemoteFile(item, what);
      if (!f) continue;
      if (seen.has(f.path)) throw new HubError(`${what}: '${f.path}' is listed twice`);
      seen.add(f.path);
      files.push(f);
      if (files.length > o.limits.maxFiles) throw new HubError(`${what}: more than ${o.limits.maxFiles} files (maxFiles)`);
    }
    const next = nextLink(res.headers.get("link"));
    if (next === undefined) break;
    let nextUrl: URL;
    try {
      nextUrl = new URL(next, at);
    } catch {
      throw new HubError(`${what}: the next-page link is not a URL`);
    }
    if (nextUrl.origin !== origin) {
      throw new HubError(`${what}: the next-page link points to another host (${printable(capText(nextUrl.host, 100))}); refusing to follow it (the token goes only to ${new URL(o.hubUrl).host})`);
    }
    url = nextUrl.href;
  }
  // A file that is also a folder of another file cannot be written.
  for (const f of files) {
    const segs = f.path.split("/");
    for (let i = 1; i < segs.length; i++) {
      const dir = segs.slice(0, i).join("/");
      if (seen.has(dir)) throw new HubError(`${what}: '${dir}' is listed both as a file and as the folder of '${f.path}'`);
    }
  }
  return files;
}
