import * as os from "node:os";
import * as path from "node:path";

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

/** A failed Hub operation: carries the HTTP status when there is one; the message never holds the token. */
export class HubError extends Error {
  constructor(message: string, readonly status?: number) {
    super(message);
    this.name = "HubError";
  }
}

/** Removes a secret from any text that might be shown to a user. */
export function scrub(text: string, token: string | undefined): string {
  return token ? text.split(token).join("***") : text;
}

/** Validates "owner/name" (the Hub's repo id form) and returns its two parts. */
export function parseRepoId(repo: string): { owner: string; name: string } {
  const m = /^([A-Za-z0-9][\w.-]*)\/([A-Za-z0-9][\w.-]*)$/.exec(repo);
  if (!m || repo.includes("..")) throw new TypeError(`repo: expected "owner/name" (letters, digits, '-', '_', '.'), got '${repo}'`);
  return { owner: m[1]!, name: m[2]! };
}

/** Turns an HTTP failure into a message that says what to do (and never repeats the token). */
export function httpError(what: string, status: number, detail: string, token: string | undefined): HubError {
  let hint = "";
  if (status === 401) hint = token ? ": the token was rejected (check HF_TOKEN or --token)" : ": authentication required (set HF_TOKEN or pass --token)";
  else if (status === 403) hint = ": the token lacks permission for this repo (a write token is needed to push)";
  else if (status === 404) hint = ": not found (check the repo id and revision; private repos need a token)";
  const msg = `${what} failed with HTTP ${status}${hint}${detail ? ` (${detail})` : ""}`;
  return new HubError(scrub(msg, token), status);
}
