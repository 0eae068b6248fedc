/**
 * gs://bucket/prefix remotes through @google-cloud/storage (an optional dependency imported on first
 * use): credentials from Application Default Credentials (GOOGLE_APPLICATION_CREDENTIALS, gcloud,
 * the metadata server); STORAGE_EMULATOR_HOST selects a local emulator, as the SDK documents (with
 * its scheme: http://host:port). Every call is bounded by the caller's AbortSignal (the per-attempt
 * timeout): the SDK takes none, so the call is abandoned when it aborts (see untilAborted).
 */
import type * as GCS from "@google-cloud/storage";
import { importSdk, RemoteError, scrubSecrets, untilAborted, writeBody, type GetOptions, type ObjectInfo, type ObjectStore } from "./store.js";

type Sdk = typeof GCS;
let sdk: Promise<Sdk> | null = null;
function loadSdk(): Promise<Sdk> {
  sdk ??= importSdk("@google-cloud/storage", "gs", () => import("@google-cloud/storage"));
  sdk.catch(() => (sdk = null));
  return sdk;
}

function gcsFailure(e: unknown, where: string, bucket: string): RemoteError {
  if (e instanceof RemoteError) return e;
  const err = e as { name?: string; code?: number | string; message?: string };
  const msg = err.message ?? String(e);
  let why: string;
  let permanent = true;
  if (err.code === 404 && /bucket does not exist/i.test(msg)) why = `no such bucket "${bucket}"`;
  else if (err.code === 404) why = "no such object";
  else if (err.code === 401) why = "access denied: the credentials were rejected (check GOOGLE_APPLICATION_CREDENTIALS)";
  else if (err.code === 403) why = "access denied (the credentials lack permission for this object)";
  else if (/Could not load the default credentials/i.test(msg)) why = "no Google Cloud credentials found (set GOOGLE_APPLICATION_CREDENTIALS or run `gcloud auth application-default login`)";
  else if (err.name === "TimeoutError" || err.name === "AbortError") {
    why = "timed out";
    permanent = false;
  } else if (typeof err.code === "string" && /^E[A-Z]+$/.test(err.code)) {
    why = `cannot reach ${process.env.STORAGE_EMULATOR_HOST || "Cloud Storage"} (${err.code})`;
    permanent = false;
  } else {
    why = msg;
    permanent = typeof err.code === "number" && err.code >= 400 && err.code < 500 && err.code !== 408 && err.code !== 429;
  }
  return new RemoteError(scrubSecrets(`${where}: ${why}`), permanent);
}

export class GcsStore implements ObjectStore {
  private storage: Promise<GCS.Storage> | null = null;

  constructor(readonly bucket: string) {}

  where(key: string): string {
    return `gs://${this.bucket}/${key}`;
  }

  /**
   * Runs `f`; rejects as soon as `signal` aborts (our callers retry). The SDK takes no AbortSignal:
   * an abandoned request ends at the SDK's own limit of 2 minutes, which also bounds calls without a signal.
   */
  private async run<T>(where: string, f: (b: GCS.Bucket) => Promise<T>, signal?: AbortSignal): Promise<T> {
    const emulator = process.env.STORAGE_EMULATOR_HOST;
    // @google-cloud/storage would put https:// in front of a bare host:port (an emulator is plain HTTP).
    if (emulator && !/^https?:\/\/[^/]/i.test(emulator)) {
      throw new RemoteError(`${where}: STORAGE_EMULATOR_HOST="${emulator}" is not a URL: expected the form http://host:port (or https://host:port)`, true);
    }
    this.storage ??= loadSdk().then((g) => new g.Storage({ retryOptions: { autoRetry: false }, timeout: 120_000 }));
    try {
      const storage = await untilAborted(this.storage, signal);
      return await untilAborted(f(storage.bucket(this.bucket)), signal);
    } catch (e) {
      throw gcsFailure(e, where, this.bucket);
    }
  }

  async get(key: string, dest: string, o: GetOptions = {}): Promise<void> {
    const where = this.where(key);
    await this.run(where, async (b) => {
      const file = b.file(key);
      const [meta] = await file.getMetadata();
      o.signal?.throwIfAborted(); // abandoned meanwhile: no body request, no file
      const size = Number(meta.size);
      if (o.maxBytes !== undefined && size > o.maxBytes) throw new RemoteError(`${where}: the object is ${size} bytes, more than the ${o.maxBytes} bytes index.json declares`, true);
      await writeBody(file.createReadStream(), dest, where, o.maxBytes ?? size, o.signal);
    }, o.signal);
  }

  async put(files: Array<[string, string]>, o: { signal?: AbortSignal } = {}): Promise<void> {
    for (const [key, file] of files) {
      await this.run(this.where(key), async (b) => {
        await b.upload(file, { destination: key, resumable: false });
      }, o.signal);
    }
  }

  async list(prefix: string, o: { signal?: AbortSignal } = {}): Promise<ObjectInfo[]> {
    return this.run(this.where(prefix), async (b) => {
      const [files] = await b.getFiles({ prefix, autoPaginate: true });
      return files.map((f) => ({ key: f.name, size: Number(f.metadata.size ?? 0) }));
    }, o.signal);
  }

  async remove(key: string, o: { signal?: AbortSignal } = {}): Promise<void> {
    await this.run(this.where(key), async (b) => {
      await b.file(key).delete({ ignoreNotFound: true });
    }, o.signal);
  }

  async head(key: string, o: { signal?: AbortSignal } = {}): Promise<ObjectInfo | null> {
    return this.run(this.where(key), async (b) => {
      const [exists] = await b.file(key).exists();
      if (!exists) return null;
      const [meta] = await b.file(key).getMetadata();
      return { key, size: Number(meta.size) };
    }, o.signal);
  }
}
