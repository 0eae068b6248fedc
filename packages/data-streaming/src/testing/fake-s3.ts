// A small S3-compatible server for tests (path-style addressing): buckets, PutObject (plain or
// aws-chunked bodies, as the SDK streams files), GetObject, HeadObject, ListObjectsV2 with pagination,
// and real Signature V4 checks, so wrong keys fail as they do on S3. Knobs: `stall` (accept requests
// and never answer: a slow endpoint), `failWith` (answer picked requests with an S3 error), `requests`
// (the log, with the region each request was signed for).
import { createHash, createHmac } from "node:crypto";
import * as http from "node:http";
import { LocalServer } from "./local-server.js";

export interface FakeS3Request {
  method: string;
  bucket: string;
  key: string;
  /** What the signature check said. */
  auth: "ok" | "none" | "bad-key" | "bad-signature";
  /** The region of the signature's credential scope (absent when unsigned). */
  region?: string;
}

/** An S3 error answer: status, code and message. */
export interface FakeS3Error {
  status: number;
  code: string;
  message: string;
}

const xml = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");
const sha256 = (b: string | Buffer) => createHash("sha256").update(b).digest("hex");
const hmac = (k: string | Buffer, s: string) => createHmac("sha256", k).update(s).digest();

export class FakeS3 extends LocalServer {
  readonly buckets = new Map<string, Map<string, Buffer>>();
  readonly requests: FakeS3Request[] = [];
  /** Never answer (the connection stays open): a slow endpoint; or only the requests this picks. */
  stall: boolean | ((r: FakeS3Request) => boolean) = false;
  /** Answers the requests this picks with an S3 error instead (e.g. 400 RequestTimeout the first time). */
  failWith: ((r: FakeS3Request) => FakeS3Error | null) | null = null;
  /** Keys per ListObjectsV2 page (small, so pagination is exercised). */
  pageSize = 1000;
  constructor(readonly keys: Record<string, string> = { AKIDFAKES3TEST: "fake-s3-secret-key" }) {
    super();
  }

  protected fail(res: http.ServerResponse, e: Error): void {
    if (!res.headersSent) this.error(res, 500, "InternalError", e.message);
    else res.destroy();
  }

  private error(res: http.ServerResponse, status: number, code: string, message: string, extra = ""): void {
    const body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${xml(message)}</Message>${extra}<RequestId>fake</RequestId></Error>`;
    res.writeHead(status, { "Content-Type": "application/xml", "Content-Length": Buffer.byteLength(body) });
    res.end(res.req.method === "HEAD" ? undefined : body);
  }

  /** Signature V4 of the request as S3 computes it (header auth only). */
  private checkAuth(req: http.IncomingMessage): FakeS3Request["auth"] {
    const auth = req.headers.authorization;
    if (!auth) return "none";
    const m = /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/s3\/aws4_request, ?SignedHeaders=([^,]+), ?Signature=([0-9a-f]{64})$/.exec(auth);
    if (!m) return "bad-signature";
    const [, akid, date, region, signedHeaders, signature] = m as unknown as string[];
    const secret = this.keys[akid!];
    if (secret === undefined) return "bad-key";
    const u = new URL(req.url ?? "/", "http://x");
    const rawQuery = (req.url ?? "").includes("?") ? (req.url ?? "").slice((req.url ?? "").indexOf("?") + 1) : "";
    const query = rawQuery.split("&").filter(Boolean).map((kv) => (kv.includes("=") ? kv : `${kv}=`)).sort().join("&");
    const headers = signedHeaders!.split(";").map((h) => `${h}:${String(req.headers[h] ?? "").trim().replace(/\s+/g, " ")}\n`).join("");
    const canonical = [req.method, u.pathname, query, headers, signedHeaders, String(req.headers["x-amz-content-sha256"] ?? "")].join("\n");
    const scope = `${date}/${region}/s3/aws4_request`;
    const toSign = ["AWS4-HMAC-SHA256", String(req.headers["x-amz-date"] ?? ""), scope, sha256(canonical)].join("\n");
    const key = hmac(hmac(hmac(hmac(`AWS4${secret}`, date!), region!), "s3"), "aws4_request");
    return createHmac("sha256", key).update(toSign).digest("hex") === signature ? "ok" : "bad-signature";
  }

  /** The object bytes of a PUT: aws-chunked bodies (what the SDK sends for streams) are decoded. */
  private static decodeBody(req: http.IncomingMessage, raw: Buffer): Buffer {
    const streaming = String(req.headers["x-amz-content-sha256"] ?? "").startsWith("STREAMING-") || /aws-chunked/.test(String(req.headers["content-encoding"] ?? ""));
    if (!streaming) return raw;
    const parts: Buffer[] = [];
    let at = 0;
    for (;;) {
      const eol = raw.indexOf("\r\n", at);
      if (eol < 0) throw new Error("aws-chunked: missing chunk header");
      const size = parseInt(raw.subarray(at, eol).toString().split(";")[0]!, 16);
      if (!Number.isFinite(size)) throw new Error("aws-chunked: bad chunk size");
      at = eol + 2;
      if (size === 0) break;
      parts.push(raw.subarray(at, at + size));
      at += size + 2;
    }
    const body = Buffer.concat(parts);
    const declared = req.headers["x-amz-decoded-content-length"];
    if (declared !== undefined && Number(declared) !== body.length) throw new Error(`aws-chunked: decoded ${body.length} bytes, header says ${declared}`);
    return body;
  }

  protected async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const u = new URL(req.url ?? "/", "http://x");
    const [bucket = "", ...rest] = u.pathname.slice(1).split("/");
    const key = rest.map(decodeURIComponent).join("/");
    const auth = this.checkAuth(req);
    const region = /Credential=[^/]+\/\d{8}\/([^/]+)\//.exec(req.headers.authorization ?? "")?.[1];
    this.requests.push({ method: req.method ?? "", bucket, key, auth, ...(region ? { region } : {}) });
    const failure = this.failWith?.(this.requests.at(-1)!);
    if (failure) {
      for await (const _ of req); // drain the body
      return this.error(res, failure.status, failure.code, failure.message);
    }
    if (this.stall === true || (typeof this.stall === "function" && this.stall(this.requests.at(-1)!))) return; // never answer
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    if (auth === "none") return this.error(res, 403, "AccessDenied", "Access Denied");
    if (auth === "bad-key") return this.error(res, 403, "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records.");
    if (auth === "bad-signature") return this.error(res, 403, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided. Check your key and signing method.");
    const objects = this.buckets.get(bucket);
    if (!key && req.method === "PUT") {
      if (objects) return this.error(res, 409, "BucketAlreadyOwnedByYou", "Your previous request to create the named bucket succeeded and you already own it.");
      this.buckets.set(bucket, new Map());
      res.writeHead(200, { Location: `/${bucket}` });
      return void res.end();
    }
    if (!objects) return this.error(res, 404, "NoSuchBucket", "The specified bucket does not exist", `<BucketName>${xml(bucket)}</BucketName>`);
    if (!key && req.method === "GET" && u.searchParams.get("list-type") === "2") return this.list(res, bucket, objects, u.searchParams);
    if (!key && req.method === "HEAD") return void res.writeHead(200).end();
    if (req.method === "PUT") {
      const raw = Buffer.concat(chunks);
      const declared = String(req.headers["x-amz-content-sha256"] ?? "");
      if (/^[0-9a-f]{64}$/.test(declared) && sha256(raw) !== declared) return this.error(res, 400, "XAmzContentSHA256Mismatch", "The provided 'x-amz-content-sha256' header does not match what was computed.");
      const body = FakeS3.decodeBody(req, raw);
      objects.set(key, body);
      res.writeHead(200, { ETag: `"${createHash("md5").update(body).digest("hex")}"` });
      return void res.end();
    }
    const obj = objects.get(key);
    if (req.method === "GET" || req.method === "HEAD") {
      if (!obj) {
        if (req.method === "HEAD") return void res.writeHead(404).end();
        return this.error(res, 404, "NoSuchKey", "The specified key does not exist.", `<Key>${xml(key)}</Key>`);
      }
      res.writeHead(200, { "Content-Type": "application/octet-stream", "Content-Length": obj.length, ETag: `"${createHash("md5").update(obj).digest("hex")}"` });
      return void res.end(req.method === "HEAD" ? undefined : obj);
    }
    if (req.method === "DELETE") {
      objects.delete(key);
      return void res.writeHead(204).end();
    }
    this.error(res, 405, "MethodNotAllowed", `${req.method} is not supported here`);
  }

  private list(res: http.ServerResponse, bucket: string, objects: Map<string, Buffer>, q: URLSearchParams): void {
    const prefix = q.get("prefix") ?? "";
    const keys = [...objects.keys()].filter((k) => k.startsWith(prefix)).sort();
    const start = Number(q.get("continuation-token") ?? 0);
    const page = keys.slice(start, start + Math.min(this.pageSize, Number(q.get("max-keys") ?? 1000)));
    const truncated = start + page.length < keys.length;
    const body = `<?xml version="1.0" encoding="UTF-8"?>\n<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Name>${xml(bucket)}</Name><Prefix>${xml(prefix)}</Prefix><KeyCount>${page.length}</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>${truncated}</IsTruncated>` +
      page.map((k) => `<Contents><Key>${xml(k)}</Key><LastModified>2026-01-01T00:00:00.000Z</LastModified><ETag>"x"</ETag><Size>${objects.get(k)!.length}</Size><StorageClass>STANDARD</StorageClass></Contents>`).join("") +
      (truncated ? `<NextContinuationToken>${start + page.length}</NextContinuationToken>` : "") + "</ListBucketResult>";
    res.writeHead(200, { "Content-Type": "application/xml", "Content-Length": Buffer.byteLength(body) });
    res.end(body);
  }
}
