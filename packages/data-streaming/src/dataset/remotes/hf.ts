/**
 * hf://datasets/OWNER/NAME[@REVISION]/PATH remotes through @huggingface/hub (the Hub client the hub
 * package uses; an optional dependency imported on first use). Endpoint: $HF_ENDPOINT (trailing
 * slashes dropped, as huggingface_hub does), else the Hub; token: $HF_TOKEN (sent only to that endpoint
 * by the client, never printed).
 */
import fs from "node:fs";
import type * as Hub from "@huggingface/hub";
import { importSdk, RemoteError, scrubSecrets, writeBody, type GetOptions, type ObjectInfo, type ObjectStore } from "./store.js";

type Sdk = typeof Hub;
let sdk: Promise<Sdk> | null = null;
function loadSdk(): Promise<Sdk> {
  sdk ??= importSdk("@huggingface/hub", "hf", () => import("@huggingface/hub"));
  sdk.catch(() => (sdk = null));
  return sdk;
}

/** The Hub answers 401 "Repository not found" for a missing repo (and for a private one without access). */
function isRepoNotFound(e: unknown): boolean {
  const err = e as { statusCode?: number; message?: string; data?: { error?: string } };
  return (err.statusCode === 401 || err.statusCode === 404) && /repository not found/i.test(`${err.data?.error ?? ""} ${err.message ?? ""}`);
}

function hubFailure(e: unknown, where: string): RemoteError {
  if (e instanceof RemoteError) return e;
  const err = e as { name?: string; statusCode?: number; message?: string; cause?: { code?: string } };
  const token = !!process.env.HF_TOKEN;
  let why: string;
  let permanent = true;
  if (isRepoNotFound(e)) why = `no such dataset repo (a private one needs HF_TOKEN${token ? " with read access" : ""})`;
  else if (err.statusCode === 401) why = token ? "access denied: the token was rejected (check HF_TOKEN)" : "access denied: authentication required (set HF_TOKEN)";
  else if (err.statusCode === 403) why = "access denied: the token lacks permission for this dataset repo";
  else if (err.statusCode === 404) why = "not found (check the dataset repo, revision and path; private repos need HF_TOKEN)";
  else if (err.name === "TimeoutError" || err.name === "AbortError") {
    why = "timed out";
    permanent = false;
  } else if (err.cause?.code) {
    why = `cannot reach ${process.env.HF_ENDPOINT || "the Hub"} (${err.cause.code})`;
    permanent = false;
  } else {
    why = `${err.statusCode ? `HTTP ${err.statusCode}: ` : ""}${err.message ?? String(e)}`;
    permanent = err.statusCode !== undefined && err.statusCode >= 400 && err.statusCode < 500 && err.statusCode !== 408 && err.statusCode !== 429;
  }
  return new RemoteError(scrubSecrets(`${where}: ${why}`), permanent);
}

/** The HTTP status of a Hub client error. */
const statusOf = (e: unknown): number | undefined => (e as { statusCode?: number }).statusCode;

export class HubStore implements ObjectStore {
  /** The repo is known to exist (created, or found): uploads do not ask again. */
  private repoReady = false;

  constructor(readonly repo: string, readonly revision?: string) {}

  where(key: string): string {
    return `hf://datasets/${this.repo}${this.revision ? `@${this.revision}` : ""}/${key}`;
  }

  private params(signal?: AbortSignal) {
    return {
      repo: { type: "dataset" as const, name: this.repo },
      hubUrl: process.env.HF_ENDPOINT?.replace(/\/+$/, "") || undefined,
      ...(process.env.HF_TOKEN ? { accessToken: process.env.HF_TOKEN } : {}),
      fetch: signal ? ((input, init) => fetch(input, { ...init, signal })) as typeof fetch : undefined,
    };
  }

  private async run<T>(where: string, f: (hub: Sdk) => Promise<T>): Promise<T> {
    const hub = await loadSdk();
    try {
      return await f(hub);
    } catch (e) {
      throw hubFailure(e, where);
    }
  }

  async get(key: string, dest: string, o: GetOptions = {}): Promise<void> {
    const where = this.where(key);
    await this.run(where, async (hub) => {
      const p = { ...this.params(o.signal), path: key, revision: this.revision };
      let info: Awaited<ReturnType<Sdk["fileDownloadInfo"]>>;
      try {
        info = await hub.fileDownloadInfo(p);
      } catch (e) {
        if (statusOf(e) === 404) await this.checkRevision(hub, where, o.signal);
        throw e;
      }
      if (!info) {
        await this.checkRevision(hub, where, o.signal);
        throw new RemoteError(`${where}: no such file in the dataset repo`, true);
      }
      if (o.maxBytes !== undefined && info.size > o.maxBytes) throw new RemoteError(`${where}: the file is ${info.size} bytes, more than the ${o.maxBytes} bytes index.json declares`, true);
      const blob = await hub.downloadFile({ ...p, downloadInfo: info });
      if (!blob) throw new RemoteError(`${where}: no such file in the dataset repo`, true);
      await writeBody(blob.stream() as unknown as AsyncIterable<Uint8Array>, dest, where, o.maxBytes ?? info.size, o.signal);
    });
  }

  async put(files: Array<[string, string]>, o: { signal?: AbortSignal } = {}): Promise<void> {
    if (!files.length) return;
    const where = files.length === 1 ? this.where(files[0]![0]) : this.where(files[0]![0].replace(/[^/]*$/, ""));
    await this.run(where, async (hub) => {
      const p = this.params(o.signal);
      const accessToken = process.env.HF_TOKEN;
      if (!accessToken) throw new RemoteError(`${where}: writing to the Hub needs a write token in HF_TOKEN`, true);
      if (!this.repoReady) {
        try {
          await hub.createRepo({ ...p, accessToken });
        } catch (e) {
          // 409: the repo exists. 403: the token may not create repos here (a token scoped to this
          // repo, an org without create rights): fine when the repo exists, as create_repo(exist_ok=True).
          if (statusOf(e) !== 409 && !(statusOf(e) === 403 && (await this.repoExists(hub, accessToken, o.signal)))) throw e;
        }
        this.repoReady = true;
      }
      const blobs = await Promise.all(files.map(async ([key, file]) => ({ path: key, content: await fs.openAsBlob(file) })));
      await hub.uploadFiles({ ...p, files: blobs, branch: this.revision, commitTitle: `Add ${files.map(([k]) => k.split("/").pop()).join(", ").slice(0, 200)}` });
    });
  }

  /** Whether the dataset repo exists (readable with `accessToken`). */
  private async repoExists(hub: Sdk, accessToken: string, signal?: AbortSignal): Promise<boolean> {
    try {
      await hub.datasetInfo({ ...this.params(signal), accessToken, name: this.repo });
      return true;
    } catch {
      return false;
    }
  }

  /** Throws "no such revision" when the URL's @REVISION names none in the repo (else returns). */
  private async checkRevision(hub: Sdk, where: string, signal?: AbortSignal): Promise<void> {
    if (!this.revision) return;
    try {
      await hub.datasetInfo({ ...this.params(signal), name: this.repo, revision: this.revision });
    } catch (e) {
      if (statusOf(e) === 404 && !isRepoNotFound(e)) throw new RemoteError(`${where}: no such revision "${this.revision}" in the dataset repo ${this.repo} (check the @REVISION of the URL: a branch, tag or commit)`, true);
    }
  }

  async list(prefix: string, o: { signal?: AbortSignal } = {}): Promise<ObjectInfo[]> {
    const dir = prefix.includes("/") ? prefix.slice(0, prefix.lastIndexOf("/")) : "";
    return this.run(this.where(prefix), async (hub) => {
      const out: ObjectInfo[] = [];
      try {
        for await (const f of hub.listFiles({ ...this.params(o.signal), path: dir || undefined, recursive: true, revision: this.revision })) {
          if (f.type === "file" && f.path.startsWith(prefix)) out.push({ key: f.path, size: f.size });
        }
      } catch (e) {
        if ((e as { statusCode?: number }).statusCode === 404 || isRepoNotFound(e)) return out; // no such folder (or repo) yet
        throw e;
      }
      return out;
    });
  }

  async remove(key: string, o: { signal?: AbortSignal } = {}): Promise<void> {
    const accessToken = process.env.HF_TOKEN;
    if (!accessToken) throw new RemoteError(`${this.where(key)}: writing to the Hub needs a write token in HF_TOKEN`, true);
    if (!(await this.head(key))) return;
    await this.run(this.where(key), (hub) => hub.deleteFile({ ...this.params(o.signal), accessToken, path: key, branch: this.revision }).then(() => undefined));
  }

  async head(key: string, o: { signal?: AbortSignal } = {}): Promise<ObjectInfo | null> {
    return this.run(this.where(key), async (hub) => {
      const info = await hub.fileDownloadInfo({ ...this.params(o.signal), path: key, revision: this.revision });
      return info ? { key, size: info.size } : null;
    });
  }
}
