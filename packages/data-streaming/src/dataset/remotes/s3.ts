/**
 * s3:// remotes through the official AWS SDK (@aws-sdk/client-s3, an optional dependency imported on
 * first use). Credentials and region come from the standard AWS chain (environment, profiles, SSO,
 * instance roles); `S3_ENDPOINT_URL` (what mosaicml-streaming reads) or the SDK's own
 * `AWS_ENDPOINT_URL[_S3]` selects an S3-compatible server, addressed path-style. As the reference,
 * a machine without any credentials falls back to unsigned requests (public buckets); with
 * AWS_PROFILE set, a missing profile is an error instead (boto3's ProfileNotFound). The region:
 * AWS_REGION, else AWS_DEFAULT_REGION (boto3's), else the profile's, else us-east-1.
 */
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type * as S3 from "@aws-sdk/client-s3";
import { endpointVar, importSdk, RemoteError, scrubSecrets, writeBody, type GetOptions, type ObjectInfo, type ObjectStore } from "./store.js";

type Sdk = typeof S3;
let sdk: Promise<Sdk> | null = null;

function loadSdk(): Promise<Sdk> {
  // The SDK warns on every Node 20 process that its future releases need Node 22; the version we
  // pin supports Node 20, so the notice is only noise on the CLI's stderr (the user can re-enable it).
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= "true";
  sdk ??= importSdk("@aws-sdk/client-s3", "s3", () => import("@aws-sdk/client-s3"));
  sdk.catch(() => (sdk = null));
  return sdk;
}

/** The custom endpoint, if any: S3_ENDPOINT_URL, else the SDK's AWS_ENDPOINT_URL_S3 / AWS_ENDPOINT_URL. */
export function s3Endpoint(): string | undefined {
  return endpointVar("s3")?.value;
}

/** Why the custom endpoint is unusable (naming its variable and the expected form), or null. */
function badEndpoint(): string | null {
  const set = endpointVar("s3");
  if (!set) return null;
  const { name, value: v } = set;
  let ok = /^https?:\/\/[^/]/i.test(v);
  try {
    new URL(v);
  } catch {
    ok = false;
  }
  return ok ? null : `${name}="${v}" is not a URL: expected the form http://host:port (or https://host)`;
}

/**
 * S3 error codes a later attempt can succeed after, whatever their 4xx status: the socket was idle too
 * long (400 RequestTimeout), the clock is off (403 RequestTimeTooSkewed: the SDK corrects its offset
 * from the answer's Date header, so the next attempt is signed right), the signature went stale in a
 * queue (RequestExpired). botocore retries these too.
 */
const TRANSIENT_CODES = new Set(["RequestTimeout", "RequestTimeTooSkewed", "RequestExpired", "InternalError", "SlowDown", "ServiceUnavailable"]);

/** The shared credentials and config files the SDK reads (AWS_SHARED_CREDENTIALS_FILE, AWS_CONFIG_FILE, else ~/.aws/). */
function profileFiles(): string[] {
  return [process.env.AWS_CONFIG_FILE || path.join(os.homedir(), ".aws", "config"), process.env.AWS_SHARED_CREDENTIALS_FILE || path.join(os.homedir(), ".aws", "credentials")];
}

/** Whether one of the files declares `[profile NAME]` (config) or `[NAME]`. */
function profileDeclared(name: string, files: string[]): boolean {
  return files.some((f) => {
    let text: string;
    try {
      text = fs.readFileSync(f, "utf8");
    } catch {
      return false;
    }
    return text.split(/\r?\n/).some((line) => {
      const m = /^\s*\[\s*(?:profile\s+)?([^\]]+?)\s*\]\s*$/.exec(line);
      return m?.[1] === name;
    });
  });
}

/**
 * With AWS_PROFILE set, a credentials failure is an error naming the profile (boto3's ProfileNotFound),
 * never a silent fall back to unsigned requests.
 */
function profileFailure(where: string, profile: string, e: unknown): RemoteError {
  const files = profileFiles();
  const why = profileDeclared(profile, files)
    ? `AWS_PROFILE="${profile}" gave no credentials: ${(e as Error).message ?? String(e)}`
    : `AWS_PROFILE="${profile}": no such profile in ${files.join(" or ")} (check the spelling, or set AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE)`;
  return new RemoteError(scrubSecrets(`${where}: ${why}`), true);
}

/** One line saying why an S3 call failed; `permanent` when retrying cannot help. */
export function s3Failure(e: unknown, where: string, bucket: string, anonymous: boolean): RemoteError {
  const err = e as { name?: string; code?: string; message?: string; $metadata?: { httpStatusCode?: number }; cause?: { code?: string } };
  const status = err.$metadata?.httpStatusCode;
  const code = err.code ?? err.cause?.code;
  const endpoint = s3Endpoint();
  const at = endpoint ? ` at ${endpoint}` : "";
  let why: string;
  let permanent = true;
  switch (err.name) {
    case "NoSuchBucket":
      why = `no such bucket "${bucket}"${at}`;
      break;
    case "NoSuchKey":
    case "NotFound":
      why = status === 404 && err.name === "NotFound" ? "not found (no such object, or no such bucket)" : "no such object";
      break;
    case "InvalidAccessKeyId":
      why = "access denied: the access key id was rejected (check AWS_ACCESS_KEY_ID / AWS_PROFILE)";
      break;
    case "SignatureDoesNotMatch":
      why = "access denied: the request signature does not match (check AWS_SECRET_ACCESS_KEY)";
      break;
    case "AccessDenied":
    case "Forbidden":
      why = anonymous ? "access denied: no AWS credentials were found and the bucket does not allow anonymous access (set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE)" : "access denied (the credentials lack permission for this object)";
      break;
    case "CredentialsProviderError":
      why = "no AWS credentials found (set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or AWS_PROFILE)";
      break;
    case "TimeoutError":
    case "AbortError":
      why = "timed out";
      permanent = false;
      break;
    default:
      if (code === "ECONNREFUSED" || code === "ENOTFOUND" || code === "ECONNRESET" || code === "EAI_AGAIN" || code === "ETIMEDOUT") {
        why = `cannot reach ${endpoint ?? "S3"} (${code})`;
        permanent = false;
      } else {
        why = `${err.name ?? "error"}${status ? ` (HTTP ${status})` : ""}: ${err.message ?? String(e)}`;
        permanent = !TRANSIENT_CODES.has(err.name ?? "") && status !== undefined && status >= 400 && status < 500 && status !== 408 && status !== 429;
      }
  }
  if (e instanceof RemoteError) return e;
  return new RemoteError(scrubSecrets(`${where}: ${why}`), permanent);
}

export class S3Store implements ObjectStore {
  private signed: S3.S3Client | null = null;
  private unsigned: S3.S3Client | null = null;
  private anonymous = false;

  constructor(readonly bucket: string) {}

  where(key: string): string {
    return `s3://${this.bucket}/${key}`;
  }

  private async client(s3: Sdk): Promise<S3.S3Client> {
    if (this.anonymous) {
      // No credentials anywhere: unsigned requests (public buckets), as the reference does.
      this.unsigned ??= await makeClient(s3, true);
      return this.unsigned;
    }
    this.signed ??= await makeClient(s3, false);
    return this.signed;
  }

  /** Runs one command; with no credentials at all, retries it unsigned. */
  private async send<T>(where: string, make: (s3: Sdk) => { readonly input: unknown; __out?: T } | object, signal?: AbortSignal): Promise<T> {
    const bad = badEndpoint();
    if (bad) throw new RemoteError(`${where}: ${bad}`, true);
    const s3 = await loadSdk();
    type Sender = { send(c: unknown, o: { abortSignal?: AbortSignal }): Promise<T> };
    try {
      try {
        return await ((await this.client(s3)) as unknown as Sender).send(make(s3), { abortSignal: signal });
      } catch (e) {
        if ((e as Error).name !== "CredentialsProviderError" || this.anonymous) throw e;
        const profile = process.env.AWS_PROFILE;
        if (profile) throw profileFailure(where, profile, e);
        this.anonymous = true;
        return await ((await this.client(s3)) as unknown as Sender).send(make(s3), { abortSignal: signal });
      }
    } catch (e) {
      throw s3Failure(e, where, this.bucket, this.anonymous);
    }
  }

  async get(key: string, dest: string, o: GetOptions = {}): Promise<void> {
    const where = this.where(key);
    const res = await this.send<S3.GetObjectCommandOutput>(where, (s3) => new s3.GetObjectCommand({ Bucket: this.bucket, Key: key }), o.signal);
    if (o.maxBytes !== undefined && res.ContentLength !== undefined && res.ContentLength > o.maxBytes) {
      (res.Body as unknown as { destroy?: () => void })?.destroy?.();
      throw new RemoteError(`${where}: the object is ${res.ContentLength} bytes, more than the ${o.maxBytes} bytes index.json declares`, true);
    }
    if (!res.Body) throw new RemoteError(`${where}: empty response body`, false);
    try {
      await writeBody(res.Body as unknown as NodeJS.ReadableStream, dest, where, o.maxBytes, o.signal);
    } catch (e) {
      throw s3Failure(e, where, this.bucket, this.anonymous);
    }
  }

  async put(files: Array<[string, string]>, o: { signal?: AbortSignal } = {}): Promise<void> {
    for (const [key, file] of files) {
      const size = fs.statSync(file).size;
      if (size > 5 * 2 ** 30) throw new RemoteError(`${this.where(key)}: ${file} is ${size} bytes; one S3 PUT takes at most 5 GiB (use a smaller --size-limit)`, true);
      await this.send(this.where(key), (s3) => new s3.PutObjectCommand({ Bucket: this.bucket, Key: key, Body: fs.createReadStream(file), ContentLength: size }), o.signal);
    }
  }

  async list(prefix: string, o: { signal?: AbortSignal } = {}): Promise<ObjectInfo[]> {
    const out: ObjectInfo[] = [];
    let token: string | undefined;
    do {
      const res = await this.send<S3.ListObjectsV2CommandOutput>(this.where(prefix), (s3) => new s3.ListObjectsV2Command({ Bucket: this.bucket, Prefix: prefix, ContinuationToken: token }), o.signal);
      for (const c of res.Contents ?? []) if (c.Key !== undefined) out.push({ key: c.Key, size: c.Size ?? 0 });
      token = res.IsTruncated ? res.NextContinuationToken : undefined;
    } while (token);
    return out;
  }

  async remove(key: string, o: { signal?: AbortSignal } = {}): Promise<void> {
    await this.send(this.where(key), (s3) => new s3.DeleteObjectCommand({ Bucket: this.bucket, Key: key }), o.signal);
  }

  async head(key: string, o: { signal?: AbortSignal } = {}): Promise<ObjectInfo | null> {
    try {
      const res = await this.send<S3.HeadObjectCommandOutput>(this.where(key), (s3) => new s3.HeadObjectCommand({ Bucket: this.bucket, Key: key }), o.signal);
      return { key, size: res.ContentLength ?? 0 };
    } catch (e) {
      if (/: not found|no such object/.test((e as Error).message)) return null;
      throw e;
    }
  }
}

async function makeClient(s3: Sdk, unsigned: boolean): Promise<S3.S3Client> {
  const endpoint = s3Endpoint();
  // The JS SDK reads AWS_REGION only; boto3 and the AWS CLI read AWS_DEFAULT_REGION (before the profile's region).
  const envRegion = process.env.AWS_REGION || process.env.AWS_DEFAULT_REGION;
  const base: S3.S3ClientConfig = {
    ...(envRegion ? { region: envRegion } : {}),
    // Our download loop retries (with its own timeout per attempt); the SDK makes one attempt.
    maxAttempts: 1,
    // The SDK writes some failures to the console when given no logger; ours are reported as errors.
    logger: { debug() {}, info() {}, warn() {}, error() {} },
    followRegionRedirects: true,
    ...(endpoint ? { endpoint, forcePathStyle: true } : {}),
    // Unsigned: an empty identity (so the chain is not searched again) and a signer that adds nothing.
    ...(unsigned ? { credentials: async () => ({ accessKeyId: "", secretAccessKey: "" }), signer: { sign: async (request: any) => request } } : {}),
  };
  const client = new s3.S3Client(base);
  // boto3 falls back to us-east-1 when no region is configured; the JS SDK refuses to start.
  const region = await client.config.region().catch(() => null);
  if (region) return client;
  client.destroy();
  return new s3.S3Client({ ...base, region: "us-east-1" });
}
