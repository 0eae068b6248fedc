// A small imitation of the Cloud Storage JSON API for tests (what @google-cloud/storage calls when
// STORAGE_EMULATOR_HOST points at it): object metadata, media download, multipart upload, list with
// prefix and pagination, delete; Google-style JSON errors (missing bucket, missing object). Knob:
// `stall` (accept requests and never answer: a silent endpoint).
import { createHash } from "node:crypto";
import * as http from "node:http";
import { LocalServer } from "./local-server.js";

/** CRC-32C (Castagnoli) as Cloud Storage reports it: base64 of the big-endian value (the SDK checks uploads against it). */
const CRC32C = Array.from({ length: 256 }, (_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
  return c >>> 0;
});
function crc32c(data: Buffer): string {
  let c = 0xffffffff;
  for (const b of data) c = CRC32C[(c ^ b) & 0xff]! ^ (c >>> 8);
  const out = Buffer.alloc(4);
  out.writeUInt32BE((c ^ 0xffffffff) >>> 0);
  return out.toString("base64");
}

export class FakeGcs extends LocalServer {
  readonly buckets = new Map<string, Map<string, Buffer>>();
  readonly requests: Array<{ method: string; path: string }> = [];
  pageSize = 1000;
  /** Never answer (the connection stays open): a silent endpoint; or only the requests this picks. */
  stall: boolean | ((r: { method: string; path: string }) => boolean) = false;
  protected fail(res: http.ServerResponse, e: Error): void {
    this.error(res, 500, e.message);
  }

  private send(res: http.ServerResponse, status: number, body: unknown): void {
    const b = Buffer.from(JSON.stringify(body));
    res.writeHead(status, { "Content-Type": "application/json; charset=UTF-8", "Content-Length": b.length });
    res.end(b);
  }

  private error(res: http.ServerResponse, code: number, message: string): void {
    if (res.headersSent) return void res.destroy();
    this.send(res, code, { error: { code, message, errors: [{ message, domain: "global", reason: code === 404 ? "notFound" : "invalid" }] } });
  }

  private meta(bucket: string, name: string, data: Buffer) {
    return { kind: "storage#object", bucket, name, size: String(data.length), md5Hash: createHash("md5").update(data).digest("base64"), crc32c: crc32c(data), generation: "1", contentType: "application/octet-stream" };
  }

  protected async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const u = new URL(req.url ?? "/", "http://x");
    this.requests.push({ method: req.method ?? "", path: u.pathname });
    if (this.stall === true || (typeof this.stall === "function" && this.stall(this.requests.at(-1)!))) return; // never answer
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    let m: RegExpExecArray | null;
    if ((m = /^\/upload\/storage\/v1\/b\/([^/]+)\/o$/.exec(u.pathname)) && req.method === "POST") {
      const objects = this.buckets.get(decodeURIComponent(m[1]!));
      if (!objects) return this.error(res, 404, "The specified bucket does not exist.");
      const name = u.searchParams.get("name");
      const boundary = /boundary="?([^";]+)"?/.exec(String(req.headers["content-type"] ?? ""))?.[1];
      if (!name || u.searchParams.get("uploadType") !== "multipart" || !boundary) return this.error(res, 400, "expected a multipart upload with ?name=");
      // multipart/related: a JSON metadata part, then the media part.
      const body = Buffer.concat(chunks);
      const parts: Buffer[] = [];
      const sep = Buffer.from(`--${boundary}`);
      let at = body.indexOf(sep);
      while (at >= 0) {
        const next = body.indexOf(sep, at + sep.length);
        if (next < 0) break;
        const part = body.subarray(at + sep.length, next);
        const start = part.indexOf("\r\n\r\n");
        parts.push(part.subarray(start + 4, part.length - 2)); // drop the CRLF before the next boundary
        at = next;
      }
      if (parts.length < 2) return this.error(res, 400, "multipart body without a media part");
      objects.set(name, Buffer.from(parts[1]!));
      return this.send(res, 200, this.meta(decodeURIComponent(m[1]!), name, parts[1]!));
    }
    // JSON API paths, with or without /storage/v1 (the SDK drops it when STORAGE_EMULATOR_HOST is set).
    if (!(m = /^(?:\/storage\/v1)?\/b\/([^/]+)\/o(?:\/(.+))?$/.exec(u.pathname))) return this.error(res, 404, `no route ${req.method} ${u.pathname}`);
    const bucket = decodeURIComponent(m[1]!);
    const objects = this.buckets.get(bucket);
    if (!objects) return this.error(res, 404, "The specified bucket does not exist.");
    if (!m[2]) {
      const prefix = u.searchParams.get("prefix") ?? "";
      const names = [...objects.keys()].filter((k) => k.startsWith(prefix)).sort();
      const start = Number(u.searchParams.get("pageToken") ?? 0);
      const page = names.slice(start, start + this.pageSize);
      const more = start + page.length < names.length;
      return this.send(res, 200, { kind: "storage#objects", items: page.map((k) => this.meta(bucket, k, objects.get(k)!)), ...(more ? { nextPageToken: String(start + page.length) } : {}) });
    }
    const name = decodeURIComponent(m[2]);
    const data = objects.get(name);
    if (req.method === "DELETE") {
      if (!data) return this.error(res, 404, `No such object: ${bucket}/${name}`);
      objects.delete(name);
      return void res.writeHead(204).end();
    }
    if (!data) return this.error(res, 404, `No such object: ${bucket}/${name}`);
    if (u.searchParams.get("alt") === "media") {
      res.writeHead(200, { "Content-Type": "application/octet-stream", "Content-Length": data.length });
      return void res.end(data);
    }
    this.send(res, 200, this.meta(bucket, name, data));
  }
}
