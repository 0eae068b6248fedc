import * as os from "node:os";
import * as path from "node:path";
import { createHash } from "node:crypto";
import { capText, printable } from "../text.js";

export const DEFAULT_HUB_URL = "https://huggingface.co";

/** Where the Hub lives and who we are. Tokens are never printed or put in error messages. */
export interface HubOptions {
  /** Hub endpoint; default: $HF_ENDPOINT, else https://huggingface.co. */
  hubUrl?: string;
  /** Access token (hf_...); default: $HF_TOKEN. */
  token?: string;
  /** fetch implementation (tests, proxies). */
  fetch?: typeof fetch;
}

export function resolveHubUrl(o: HubOptions = {}): string {
  const url = o.hubUrl || process.env.HF_ENDPOINT || DEFAULT_HUB_URL;
  if (!/^https?:\/\//.test(url)) throw new TypeError(`hub url: expected an http(s) URL, got '${url}'`);
  return url.replace(/\/+$/, "");
}

export function resolveToken(o: HubOptions = {}): string | undefined {
  return o.token || process.env.HF_TOKEN || undefined;
}

/** The download cache root: $MOSAICBERT_CACHE, else ~/.cache/mosaicbert/hub. */
export function resolveCacheDir(dir?: string): string {
  return dir || process.env.MOSAICBERT_CACHE || path.join(os.homedir(), ".cache", "mosaicbert", "hub");
}

/**
 * A failed Hub operation: carries the HTTP status when there is one. The message never holds the
 * token (callers scrub it first) nor terminal escapes from server text, and is bounded in length.
 */
export class HubError extends Error {
  /** `network`: the server could not be reached at all (an offline pull may fall back to the cache). */
  constructor(message: string, readonly status?: number, readonly network = false) {
    super(printable(capText(message, 2000)));
    this.name = "HubError";
  }
}

/** Removes a secret from any text that might be shown to a user. */
export function scrub(text: string, token: string | undefined): string {
  return token ? text.split(token).join("***") : text;
}

/** A response body made safe for an error message: the token scrubbed out of the whole body FIRST, then cut. */
export function bodyDetail(body: string, token: string | undefined, max = 200): string {
  let detail = scrub(body, token);
  try {
    const e = (JSON.parse(detail) as { error?: unknown }).error;
    if (typeof e === "string") detail = e;
  } catch { /* not JSON */ }
  return printable(capText(detail.trim(), max));
}

/**
 * The cache folder of one endpoint: files pulled from a mirror are never served for another one.
 * Readable (the host and port) and exact (a hash of the whole URL).
 */
export function endpointKey(hubUrl: string): string {
  const u = new URL(hubUrl);
  const host = `${u.hostname}${u.port ? `_${u.port}` : ""}`.replace(/[^\w.-]/g, "_");
  return `${host}-${createHash("sha256").update(hubUrl).digest("hex").slice(0, 12)}`;
}

/** Why a request never got an answer, naming the host: "cannot reach huggingface.co (ENOTFOUND: getaddrinfo ...)". */
export function networkError(what: string, url: string, e: unknown, token: string | undefined): HubError {
  let host = url;
  try { host = new URL(url).host; } catch { /* keep the text */ }
  const cause = (e as { cause?: { code?: unknown; message?: unknown } } | null)?.cause;
  const parts: string[] = [];
  if (cause && typeof cause.code === "string") parts.push(cause.code);
  if (cause && typeof cause.message === "string" && cause.message) parts.push(cause.message);
  else if (e instanceof Error && e.message) parts.push(e.message);
  return new HubError(scrub(`${what}: cannot reach ${host} (${parts.join(": ") || "network error"})`, token), undefined, true);
}

/** Whether an error is fetch's "no answer" (DNS, refused, reset, TLS, timeout), not an HTTP status. */
export function isNetworkError(e: unknown): boolean {
  return e instanceof TypeError && /fetch failed|network|terminated/i.test(e.message);
}

/**
 * Validates a repo id and returns its parts: "owner/name", or a single segment such as "bert-base-uncased"
 * (legacy models the Hub still serves without an owner; `owner` is then ""). `o.owner: true` (pushing)
 * requires the owner.
 */
export function parseRepoId(repo: string, o: { owner?: boolean } = {}): { owner: string; name: string } {
  const m = /^(?:([A-Za-z0-9][\w.-]*)\/)?([A-Za-z0-9][\w.-]*)$/.exec(repo);
  if (!m || repo.includes("..") || repo.includes("--") || (o.owner && m[1] === undefined)) {
    const form = o.owner ? '"owner/name"' : '"owner/name" (or a legacy id without owner such as "bert-base-uncased")';
    throw new TypeError(`repo: expected ${form} (letters, digits, '-', '_', '.'), got '${repo}'`);
  }
  return { owner: m[1] ?? "", name: m[2]! };
}

/**
 * Turns an HTTP failure into a message that says what to do (and never repeats the token). The Hub
 * answers a missing repo with 401 (so private repos do not leak) and `X-Error-Code: RepoNotFound`:
 * that is "not found", not a rejected token.
 */
export function httpError(what: string, status: number, detail: string, token: string | undefined, errorCode?: string | null): HubError {
  let hint = "";
  if (errorCode === "RepoNotFound" || (status === 401 && /repository not found/i.test(detail))) {
    hint = `: repository not found (check the repo id; a private repo also needs a token that can read it${token ? "" : ": set HF_TOKEN or pass --token"})`;
  } else if (errorCode === "RevisionNotFound") hint = ": revision not found (check --revision)";
  else if (status === 401) hint = token ? ": the token was rejected (check HF_TOKEN or --token)" : ": authentication required (set HF_TOKEN or pass --token)";
  else if (status === 403) hint = ": the token lacks permission for this repo (a write token is needed to push)";
  else if (status === 404) hint = ": not found (check the repo id and revision; private repos need a token)";
  const msg = `${what} failed with HTTP ${status}${hint}${detail ? ` (${detail})` : ""}`;
  return new HubError(scrub(msg, token), status);
}
