import * as fs from "node:fs";
import * as path from "node:path";
import { HubApiError, listFiles } from "@huggingface/hub";
import { type HubOptions, HubError, httpError, parseRepoId, resolveCacheDir, resolveHubUrl, resolveToken, scrub } from "./env.js";
import { type DownloadProgress, type RemoteFile, downloadFile } from "./download.js";

export interface PullOptions extends HubOptions {
  /** Branch, tag or commit; default "main". */
  revision?: string;
  /** Copy the files into this folder (else the cached snapshot folder is returned). */
  to?: string;
  /** Cache root; default $MOSAICBERT_CACHE or ~/.cache/mosaicbert/hub. */
  cacheDir?: string;
  /** Only files whose repo path passes this filter. */
  include?: (repoPath: string) => boolean;
  onProgress?: (p: DownloadProgress) => void;
}

export interface PullResult {
  /** Folder holding the files (`to`, or the cache snapshot). */
  dir: string;
  /** The commit the revision resolved to. */
  commit: string;
  files: RemoteFile[];
  /** Files served from the cache without a download. */
  cached: string[];
}

function safeRelPath(p: string): string {
  const norm = path.posix.normalize(p);
  if (norm.startsWith("../") || norm === ".." || path.posix.isAbsolute(norm) || norm.includes("\0")) {
    throw new HubError(`the Hub listed an unsafe file path '${p}'`);
  }
  return norm;
}

async function resolveRevision(hubUrl: string, repo: string, revision: string, token: string | undefined, doFetch: typeof fetch): Promise<string> {
  const url = `${hubUrl}/api/models/${repo}/revision/${encodeURIComponent(revision)}`;
  const res = await doFetch(url, { headers: token ? { Authorization: `Bearer ${token}` } : {} });
  if (!res.ok) {
    const body = await res.text().catch(() => "");
    let detail = body.slice(0, 200);
    try { detail = (JSON.parse(body) as { error?: string }).error ?? detail; } catch { /* not JSON */ }
    throw httpError(`resolving ${repo}@${revision}`, res.status, detail, token);
  }
  const json = (await res.json()) as { sha?: unknown };
  if (typeof json.sha !== "string" || !/^[0-9a-f]{40}$/.test(json.sha)) throw new HubError(`resolving ${repo}@${revision}: the Hub returned no commit sha`);
  return json.sha;
}

function isNetworkError(e: unknown): boolean {
  return e instanceof TypeError && /fetch failed/i.test(e.message);
}

/**
 * Downloads a model repo revision into the local cache (`<cache>/models--owner--name/snapshots/<commit>`),
 * resuming partial downloads and verifying every file, then optionally copies it to `to`.
 * Offline, a revision already in the cache is served from there.
 */
export async function pullModel(repo: string, o: PullOptions = {}): Promise<PullResult> {
  const { owner, name } = parseRepoId(repo);
  const hubUrl = resolveHubUrl(o);
  const token = resolveToken(o);
  const doFetch = o.fetch ?? fetch;
  const revision = o.revision ?? "main";
  const repoDir = path.join(resolveCacheDir(o.cacheDir), `models--${owner}--${name}`);
  const refFile = path.join(repoDir, "refs", revision.replace(/[^\w.-]/g, "_"));
  let commit: string;
  let files: RemoteFile[];
  try {
    commit = await resolveRevision(hubUrl, repo, revision, token, doFetch);
    files = [];
    for await (const e of listFiles({ repo, revision: commit, recursive: true, hubUrl, accessToken: token, fetch: doFetch })) {
      if (e.type !== "file") continue;
      const p = safeRelPath(e.path);
      if (o.include && !o.include(p)) continue;
      files.push({ path: p, size: e.lfs?.size ?? e.size, oid: e.oid, lfsSha256: e.lfs?.oid });
    }
  } catch (e) {
    if (isNetworkError(e) && fs.existsSync(path.join(refFile + ".files.json"))) {
      // Offline: fall back to the snapshot recorded by the last successful pull of this revision.
      commit = fs.readFileSync(refFile, "utf8").trim();
      files = JSON.parse(fs.readFileSync(refFile + ".files.json", "utf8")) as RemoteFile[];
    } else if (e instanceof HubApiError) {
      throw httpError(`listing files of ${repo}@${revision}`, e.statusCode, e.message.replace(/\. URL: .*$/, ""), token);
    } else if (e instanceof HubError) {
      throw e;
    } else {
      throw new HubError(scrub(`pulling ${repo} from ${hubUrl}: ${(e as Error).message}`, token));
    }
  }
  const snapshot = path.join(repoDir, "snapshots", commit);
  const cached: string[] = [];
  for (const f of files) {
    const dest = path.join(snapshot, ...f.path.split("/"));
    if (fs.existsSync(dest) && fs.statSync(dest).size === f.size) {
      // Files only reach their final name after verification, so a present file is a good one.
      cached.push(f.path);
      o.onProgress?.({ file: f.path, done: f.size, total: f.size });
      continue;
    }
    const url = `${hubUrl}/${repo}/resolve/${commit}/${f.path.split("/").map(encodeURIComponent).join("/")}`;
    await downloadFile(f, dest, { url, token, fetch: doFetch, onProgress: o.onProgress });
  }
  fs.mkdirSync(path.dirname(refFile), { recursive: true });
  fs.writeFileSync(refFile, commit + "\n");
  fs.writeFileSync(refFile + ".files.json", JSON.stringify(files));
  let dir = snapshot;
  if (o.to) {
    dir = path.resolve(o.to);
    for (const f of files) {
      const dest = path.join(dir, ...f.path.split("/"));
      fs.mkdirSync(path.dirname(dest), { recursive: true });
      fs.copyFileSync(path.join(snapshot, ...f.path.split("/")), dest);
    }
  }
  fs.mkdirSync(dir, { recursive: true });
  return { dir, commit, files, cached };
}
