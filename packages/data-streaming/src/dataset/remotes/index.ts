/**
 * Object-store remotes by URL scheme: s3://bucket/prefix, gs://bucket/prefix and
 * hf://datasets/owner/name[@revision]/path. One store per bucket (or Hub repo) per process, each
 * SDK imported the first time its scheme is used.
 */
import { RemoteError, type ObjectStore } from "./store.js";

export { endpointVar, RemoteError, type ObjectInfo, type ObjectStore, type GetOptions } from "./store.js";

const SCHEMES = ["s3", "gs", "hf"] as const;
export type ObjectScheme = (typeof SCHEMES)[number];

/** Whether `url` names an object store (s3://, gs://, hf://). */
export function isObjectStoreUrl(url: string): boolean {
  return /^(s3|gs|hf):\/\//i.test(url);
}

export interface ObjectUrl {
  scheme: ObjectScheme;
  /** Bucket name, or "owner/name" of a Hub dataset repo. */
  container: string;
  /** Hub revision (branch, tag or commit); "main" by default. */
  revision?: string;
  /** Object key inside the container ("" for the root). */
  key: string;
}

const BUCKET = /^[a-z0-9][a-z0-9._-]{1,61}[a-z0-9]$/;
const REPO_PART = /^[A-Za-z0-9][\w.-]*$/;

/** Splits an object-store URL; throws a one-line error naming the expected form. */
export function parseObjectUrl(url: string): ObjectUrl {
  const m = /^([a-z0-9]+):\/\/(.*)$/i.exec(url);
  const scheme = m?.[1]!.toLowerCase() as ObjectScheme | undefined;
  if (!m || !scheme || !SCHEMES.includes(scheme)) throw new RemoteError(`${url}: not an object-store URL (expected s3://, gs:// or hf://)`, true);
  const rest = m[2]!.replace(/\/+$/, "");
  if (rest.split("/").some((p, i) => i > 0 && (p === "" || p === "." || p === ".."))) {
    throw new RemoteError(`${url}: empty, "." or ".." path segments are not allowed`, true);
  }
  if (scheme === "hf") {
    const h = /^datasets\/([^/]+)\/([^/@]+)(?:@([^/]+))?(?:\/(.*))?$/.exec(rest);
    if (!h || !REPO_PART.test(h[1]!) || !REPO_PART.test(h[2]!) || h[1]!.includes("..") || h[2]!.includes("..")) {
      throw new RemoteError(`${url}: expected hf://datasets/OWNER/NAME[@REVISION]/PATH (a Hub dataset repo)`, true);
    }
    return { scheme, container: `${h[1]}/${h[2]}`, revision: h[3] ? decodeURIComponent(h[3]) : undefined, key: h[4] ?? "" };
  }
  const slash = rest.indexOf("/");
  const bucket = slash < 0 ? rest : rest.slice(0, slash);
  if (!BUCKET.test(bucket)) throw new RemoteError(`${url}: "${bucket}" is not a valid bucket name (3-63 lowercase letters, digits, '.', '-', '_')`, true);
  return { scheme, container: bucket, key: slash < 0 ? "" : rest.slice(slash + 1) };
}

const stores = new Map<string, Promise<ObjectStore>>();

async function makeStore(u: ObjectUrl): Promise<ObjectStore> {
  if (u.scheme === "s3") return new (await import("./s3.js")).S3Store(u.container);
  if (u.scheme === "gs") return new (await import("./gs.js")).GcsStore(u.container);
  return new (await import("./hf.js")).HubStore(u.container, u.revision);
}

/** The store holding `url` and the object key it names. */
export async function openObjectUrl(url: string): Promise<{ store: ObjectStore; key: string }> {
  const u = parseObjectUrl(url);
  const id = `${u.scheme}://${u.container}@${u.revision ?? ""}`;
  let p = stores.get(id);
  if (!p) {
    p = makeStore(u);
    p.catch(() => stores.delete(id));
    stores.set(id, p);
  }
  return { store: await p, key: u.key };
}

/** Forgets the open stores (tests change endpoints and credentials between cases). */
export function resetObjectStores(): void {
  stores.clear();
}
