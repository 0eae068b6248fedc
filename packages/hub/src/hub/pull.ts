import * as fs from "node:fs";
import * as path from "node:path";
import { type HubOptions, HubError, bodyDetail, endpointKey, httpError, parseRepoId, resolveCacheDir, resolveHubUrl, resolveToken } from "./env.js";
import { type DownloadProgress, type RemoteFile, downloadFile, verifyFile } from "./download.js";
import { type HubLimits, fetchFollowing, hubLimits, listRepoFiles, readBody } from "./listing.js";

export interface PullOptions extends HubOptions {
  /** Branch, tag or commit; default "main". */
  revision?: string;
  /** Copy the files into this folder (else the cached snapshot folder is returned). */
  to?: string;
  /** Cache root; default $MOSAICBERT_CACHE or ~/.cache/mosaicbert/hub. Each endpoint gets its own folder inside. */
  cacheDir?: string;
  /** Only files whose repo path passes this filter. */
  include?: (repoPath: string) => boolean;
  /**
   * Chooses the files from the whole listing (e.g. `modelFileFilter`: safetensors weights only when the repo
   * has them); applied with `include`. Default: every file.
   */
  select?: (paths: readonly string[]) => (repoPath: string) => boolean;
  onProgress?: (p: DownloadProgress) => void;
  /** What a server may make this pull cost (listing size, file count); defaults in HubLimits. */
  limits?: HubLimits;
}

export interface PullResult {
  /** Folder holding the files (`to`, or the cache snapshot). */
  dir: string;
  /** The commit the revision resolved to. */
  commit: string;
  files: RemoteFile[];
  /** Files served from the cache without a download. */
  cached: string[];
  /** Listed files left out by `include` / `select`. */
  skipped: string[];
}

async function resolveRevision(hubUrl: string, repo: string, revision: string, token: string | undefined, doFetch: typeof fetch, limits: Required<HubLimits>): Promise<string> {
  const url = `${hubUrl}/api/models/${repo}/revision/${encodeURIComponent(revision)}`;
  const what = `resolving ${repo}@${revision}`;
  const { res } = await fetchFollowing(doFetch, url, { token, authOrigin: new URL(hubUrl).origin, what, timeoutMs: limits.timeoutMs });
  const body = await readBody(res, limits.maxListingBytes, what);
  if (!res.ok) throw httpError(what, res.status, bodyDetail(body, token), token, res.headers.get("x-error-code"));
  let sha: unknown;
  try {
    sha = (JSON.parse(body) as { sha?: unknown }).sha;
  } catch {
    throw new HubError(`${what}: the Hub answered with something that is not JSON`);
  }
  if (typeof sha !== "string" || !/^[0-9a-f]{40}$/.test(sha)) throw new HubError(`${what}: the Hub returned no commit sha`);
  return sha;
}

/**
 * Downloads a model repo revision into the local cache (`<cache>/<endpoint>/models--owner--name/snapshots/<commit>`),
 * resuming partial downloads and verifying every file, then optionally copies it to `to`. A cached
 * file is reused only when it still has the hash the listing gives (sha256 for LFS files, the git
 * blob id otherwise); files listed without a hash are downloaded again. Offline, a revision already
 * in the cache is served from there.
 */
export async function pullModel(repo: string, o: PullOptions = {}): Promise<PullResult> {
  const { owner, name } = parseRepoId(repo);
  const hubUrl = resolveHubUrl(o);
  const token = resolveToken(o);
  const doFetch = o.fetch ?? fetch;
  const limits = hubLimits(o.limits);
  const revision = o.revision ?? "main";
  const repoDir = path.join(resolveCacheDir(o.cacheDir), endpointKey(hubUrl), owner ? `models--${owner}--${name}` : `models--${name}`);
  const refFile = path.join(repoDir, "refs", revision.replace(/[^\w.-]/g, "_"));
  let commit: string;
  let files: RemoteFile[];
  let offline = false;
  const skipped: string[] = [];
  try {
    commit = await resolveRevision(hubUrl, repo, revision, token, doFetch, limits);
    files = [];
    const listing = await listRepoFiles({ hubUrl, repo, commit, token, fetch: doFetch, limits });
    const selected = o.select?.(listing.map((f) => f.path));
    for (const f of listing) {
      if ((o.include && !o.include(f.path)) || (selected && !selected(f.path))) skipped.push(f.path);
      else files.push(f);
    }
  } catch (e) {
    if (e instanceof HubError && e.network && fs.existsSync(refFile + ".files.json")) {
      // Offline: fall back to the snapshot recorded by the last successful pull of this revision.
      commit = fs.readFileSync(refFile, "utf8").trim();
      files = JSON.parse(fs.readFileSync(refFile + ".files.json", "utf8")) as RemoteFile[];
      offline = true;
    } else throw e;
  }
  const snapshot = path.join(repoDir, "snapshots", commit);
  // Partial downloads live beside snapshots/, never inside: no repo file can share their names.
  const tempDir = path.join(repoDir, ".incomplete");
  const cached: string[] = [];
  for (const f of files) {
    const dest = path.join(snapshot, ...f.path.split("/"));
    if ((offline || f.lfsSha256 || f.oid) && fs.existsSync(dest) && fs.statSync(dest).isFile() && fs.statSync(dest).size === f.size && (await verifyFile(dest, f))) {
      cached.push(f.path);
      o.onProgress?.({ file: f.path, done: f.size, total: f.size });
      continue;
    }
    if (offline) throw new HubError(`pulling ${repo}: ${f.path} is not in the cache and ${new URL(hubUrl).host} cannot be reached`, undefined, true);
    const url = `${hubUrl}/${repo}/resolve/${commit}/${f.path.split("/").map(encodeURIComponent).join("/")}`;
    try {
      await downloadFile(f, dest, { url, token, fetch: doFetch, onProgress: o.onProgress, authOrigin: new URL(hubUrl).origin, timeoutMs: limits.timeoutMs, tempDir });
    } catch (e) {
      // Name the repo and commit: the file name alone does not say where it came from.
      if (e instanceof HubError) throw new HubError(`pulling ${repo}@${commit.slice(0, 12)}: ${e.message}`, e.status, e.network);
      throw e;
    }
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
  return { dir, commit, files, cached, skipped };
}
