import * as fs from "node:fs";
import * as path from "node:path";
import { type CommitOperation, HubApiError, commitIter, createRepo } from "@huggingface/hub";
import { type HubOptions, HubError, httpError, parseRepoId, resolveHubUrl, resolveToken, scrub } from "./env.js";

export interface PushProgress {
  file: string;
  phase: "hashing" | "uploading";
  done: number;
  total: number;
}

export interface PushOptions extends HubOptions {
  /** Create the repo private (only when it does not exist yet). */
  private?: boolean;
  /** Branch to commit to; default "main". */
  branch?: string;
  commitMessage?: string;
  onProgress?: (p: PushProgress) => void;
  /** Called when the commit request is sent (after every large file is uploaded). */
  onCommit?: () => void;
  /** Upload only these files of the folder (relative paths; default: listUploadFiles). */
  files?: string[];
  /** Files to upload that are not in the folder (e.g. a generated README.md): repo path → contents. */
  extraFiles?: Record<string, string | Uint8Array>;
}

export interface PushResult {
  repo: string;
  commit: string;
  commitUrl: string;
  files: string[];
}

/** Files of a folder to upload: everything but hidden files (except .gitattributes) and partial downloads. */
export function listUploadFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const ent of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const p = rel ? `${rel}/${ent.name}` : ent.name;
      if (ent.name.startsWith(".") && ent.name !== ".gitattributes") continue;
      if (ent.isDirectory()) walk(p);
      else if (ent.isFile() && !ent.name.endsWith(".part") && !ent.name.endsWith(".tmp")) out.push(p);
    }
  };
  walk("");
  return out.sort();
}

function apiError(what: string, e: unknown, token: string | undefined): Error {
  if (e instanceof HubApiError) return httpError(what, e.statusCode, e.message.replace(/\. URL: .*$/, ""), token);
  if (e instanceof HubError) return e;
  return new HubError(scrub(`${what}: ${(e as Error).message}`, token));
}

/**
 * Uploads a model folder to a Hub repo in one commit, creating the repo if needed. Large files go
 * through LFS (the Hub decides which), with sha256 computed locally.
 */
export async function pushModel(dir: string, repo: string, o: PushOptions = {}): Promise<PushResult> {
  parseRepoId(repo, { owner: true });
  const hubUrl = resolveHubUrl(o);
  const token = resolveToken(o);
  if (!token) throw new HubError("pushing needs a Hugging Face write token: pass --token or set HF_TOKEN");
  if (!/^hf_/.test(token)) throw new HubError("the token does not look like a Hugging Face token (expected it to start with 'hf_')");
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) throw new HubError(`${dir}: not a folder`);
  const files = o.files ? [...o.files] : listUploadFiles(dir);
  for (const f of files) {
    if (path.isAbsolute(f) || f.split(/[\\/]/).includes("..") || !fs.existsSync(path.join(dir, f))) throw new HubError(`${dir}: '${f}' is not a file of the folder`);
  }
  for (const f of Object.keys(o.extraFiles ?? {})) files.push(f);
  if (files.length === 0) throw new HubError(`${dir}: nothing to upload (the folder is empty)`);
  try {
    await createRepo({ repo, visibility: o.private ? "private" : undefined, hubUrl, accessToken: token, fetch: o.fetch });
  } catch (e) {
    // 409: the repo exists already, which is fine for a push.
    if (!(e instanceof HubApiError && e.statusCode === 409)) throw apiError(`creating ${repo}`, e, token);
  }
  const sizes = new Map<string, number>();
  const operations: CommitOperation[] = [];
  for (const f of files) {
    const extra = o.extraFiles?.[f];
    if (extra !== undefined) {
      const bytes = typeof extra === "string" ? Buffer.from(extra, "utf8") : extra;
      sizes.set(f, bytes.length);
      operations.push({ operation: "addOrUpdate", path: f, content: new Blob([bytes]) });
      continue;
    }
    const full = path.join(dir, ...f.split("/"));
    sizes.set(f, fs.statSync(full).size);
    operations.push({ operation: "addOrUpdate", path: f, content: await fs.openAsBlob(full) });
  }
  const it = commitIter({
    repo,
    operations,
    title: o.commitMessage ?? `Upload ${path.basename(path.resolve(dir))} with mosaicbert-ts`,
    branch: o.branch,
    hubUrl,
    accessToken: token,
    fetch: o.fetch,
  });
  try {
    for (;;) {
      const r = await it.next();
      if (r.done) {
        const out = r.value;
        if (!out) throw new HubError(`committing to ${repo}: the Hub returned no commit`);
        return { repo, commit: out.commit.oid, commitUrl: out.commit.url, files };
      }
      const ev = r.value;
      if (ev.event === "fileProgress" && ev.state !== "error") {
        const total = sizes.get(ev.path) ?? 0;
        o.onProgress?.({ file: ev.path, phase: ev.state, done: Math.round(ev.progress * total), total });
      } else if (ev.event === "phase" && ev.phase === "committing") o.onCommit?.();
    }
  } catch (e) {
    throw apiError(`pushing ${dir} to ${repo}`, e, token);
  }
}
