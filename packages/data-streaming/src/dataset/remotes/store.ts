/**
 * The small interface every object-store remote implements (s3://, gs://, hf://): get an object into
 * a file with a byte limit, put a file, list a prefix, head one object. Keys are full object paths
 * inside the bucket (or Hub repo); `where(key)` is how messages name an object.
 */
import fs from "node:fs";
import { Transform } from "node:stream";
import { pipeline } from "node:stream/promises";

export interface ObjectInfo {
  key: string;
  size: number;
}

export interface GetOptions {
  /** Refuse objects larger than this (the size index.json declares for a shard). */
  maxBytes?: number;
  /** Cancels the request and the body transfer (the per-attempt timeout). */
  signal?: AbortSignal;
}

export interface ObjectStore {
  /** The URL of `key`, e.g. s3://bucket/key (never with a secret). */
  where(key: string): string;
  /** Writes object `key` to the file `dest` (streamed; the caller renames it into place). */
  get(key: string, dest: string, o?: GetOptions): Promise<void>;
  /** Uploads several local files: [key, file] pairs, in order (hf:// commits them together). */
  put(files: Array<[key: string, file: string]>, o?: { signal?: AbortSignal }): Promise<void>;
  /** Objects whose key starts with `prefix`. */
  list(prefix: string, o?: { signal?: AbortSignal }): Promise<ObjectInfo[]>;
  /** Size of object `key`, or null when there is none. */
  head(key: string, o?: { signal?: AbortSignal }): Promise<ObjectInfo | null>;
  /** Deletes object `key` (no error when there is none). */
  remove(key: string, o?: { signal?: AbortSignal }): Promise<void>;
}

/**
 * A failed object-store operation. The message names the object and the cause in one line and never
 * holds a secret; `permanent` errors (missing bucket or object, denied, bad credentials) are not retried.
 */
export class RemoteError extends Error {
  constructor(message: string, readonly permanent: boolean) {
    super(message);
    this.name = "RemoteError";
  }
}

/** Removes the secrets this process knows about from text shown to a user; caps its length. */
export function scrubSecrets(text: string): string {
  let out = text;
  for (const k of ["AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "HF_TOKEN", "GOOGLE_APPLICATION_CREDENTIALS_JSON"]) {
    const v = process.env[k];
    if (v && v.length >= 4) out = out.split(v).join("***");
  }
  out = out.replace(/\s+/g, " ").trim();
  return out.length > 300 ? `${out.slice(0, 300)}…` : out;
}

/**
 * The variables naming the server each object-store scheme talks to, first set first, as the stores
 * read them (s3: mosaicml-streaming's S3_ENDPOINT_URL, then the AWS SDK's own; gs: the emulator; hf: the Hub).
 */
const ENDPOINT_VARS: Readonly<Record<string, readonly string[]>> = {
  s3: ["S3_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"],
  gs: ["STORAGE_EMULATOR_HOST"],
  hf: ["HF_ENDPOINT"],
};

/** The endpoint variable in effect for `scheme` (its name and value), or null when none is set (or the scheme has none). */
export function endpointVar(scheme: string, env: NodeJS.ProcessEnv = process.env): { name: string; value: string } | null {
  const name = (Object.hasOwn(ENDPOINT_VARS, scheme) ? ENDPOINT_VARS[scheme]! : []).find((k) => !!env[k]);
  return name ? { name, value: env[name]! } : null;
}

/**
 * Settles as `p` does, or rejects with the signal's reason (a TimeoutError or AbortError) as soon as
 * `signal` aborts: for SDK calls that take no AbortSignal. The abandoned request ends on its own.
 */
export function untilAborted<T>(p: Promise<T>, signal?: AbortSignal): Promise<T> {
  if (!signal) return p;
  if (signal.aborted) {
    p.catch(() => undefined);
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      p.catch(() => undefined);
      reject(signal.reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
    p.then(resolve, reject).finally(() => signal.removeEventListener("abort", onAbort));
  });
}

/** Imports an optional SDK, or says which package to install. */
export async function importSdk<T>(name: string, scheme: string, load: () => Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ERR_MODULE_NOT_FOUND" || code === "MODULE_NOT_FOUND") {
      throw new RemoteError(`${scheme}:// remotes need the optional package ${name}: install it with \`npm install ${name}\``, true);
    }
    throw e;
  }
}

/**
 * Streams `body` into `dest`, failing as soon as more than `maxBytes` arrive (a server that sends more
 * than it should is cut off, not buffered).
 */
export async function writeBody(body: NodeJS.ReadableStream | AsyncIterable<Uint8Array>, dest: string, where: string, maxBytes: number | undefined, signal?: AbortSignal): Promise<number> {
  let n = 0;
  const limit = new Transform({
    transform(chunk: Buffer, _enc, done) {
      n += chunk.length;
      if (maxBytes !== undefined && n > maxBytes) done(new RemoteError(`${where}: the object is larger than the ${maxBytes} bytes index.json declares`, true));
      else done(null, chunk);
    },
  });
  await pipeline(body as NodeJS.ReadableStream, limit, fs.createWriteStream(dest), signal ? { signal } : {});
  return n;
}
