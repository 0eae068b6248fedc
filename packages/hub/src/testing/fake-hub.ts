// A small in-process imitation of the Hugging Face Hub HTTP API (the routes @huggingface/hub and
// pullModel and the hf:// dataset remote use), for tests: model and dataset repos, create, preupload, LFS batch + basic upload, ndjson commit,
// revision info, recursive tree, resolve (LFS files redirect to a "CDN" route) with Range support.
import * as http from "node:http";
import { createHash } from "node:crypto";
import type { AddressInfo } from "node:net";

interface StoredFile {
  content: Buffer;
  lfs: boolean;
}
interface Repo {
  private: boolean;
  commits: Array<{ sha: string; files: Map<string, StoredFile> }>;
}
export interface LoggedRequest {
  method: string;
  path: string;
  range?: string;
  authorized: "none" | "good" | "bad";
}

/** The key a repo is stored under: "owner/name" for models, "datasets/owner/name" for datasets. */
const repoKey = (kind: string, name: string): string => (kind === "datasets/" ? `datasets/${name}` : name);

/** Answers with a JSON body (and optional extra headers); returns true so an `override` can end with it. */
export function sendJson(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): true {
  const b = Buffer.from(JSON.stringify(body));
  res.writeHead(status, { "Content-Type": "application/json", "Content-Length": b.length, ...headers });
  res.end(b);
  return true;
}

/** The error a promise rejects with (a test failure when it resolves instead). */
export async function failureOf(p: Promise<unknown>): Promise<Error> {
  try {
    await p;
  } catch (e) {
    return e as Error;
  }
  throw new Error("expected a failure");
}

export class FakeHub {
  readonly repos = new Map<string, Repo>();
  readonly lfs = new Map<string, Buffer>();
  readonly requests: LoggedRequest[] = [];
  /** Drop the connection after `after` bytes of the next `times` full downloads of `path`. */
  cut: { path: string; after: number; times: number } | null = null;
  /** Answer the next `times` downloads of `path` with this HTTP status. */
  fail: { path: string; status: number; times: number } | null = null;
  /**
   * A hostile or unusual server: called first for every request; return true when it answered
   * (tests use it for lying listings, foreign pagination links, oversized bodies...).
   */
  override: ((req: http.IncomingMessage, res: http.ServerResponse, path: string) => boolean | Promise<boolean>) | null = null;
  url = "";
  private server: http.Server;
  private counter = 0;

  constructor(readonly token: string) {
    this.server = http.createServer((req, res) => {
      this.handle(req, res).catch((e: Error) => {
        if (!res.headersSent) this.json(res, 500, { error: e.message });
        else res.destroy();
      });
    });
  }

  async start(): Promise<this> {
    await new Promise<void>((r) => this.server.listen(0, "127.0.0.1", r));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }

  private json(res: http.ServerResponse, status: number, body: unknown, errorCode?: string): void {
    sendJson(res, status, body, errorCode ? { "X-Error-Code": errorCode } : {});
  }

  private async body(req: http.IncomingMessage): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    return Buffer.concat(chunks);
  }

  private head(repo: Repo, rev: string) {
    return rev === "main" || rev === "HEAD" ? repo.commits[repo.commits.length - 1] : repo.commits.find((c) => c.sha === rev);
  }

  private serve(req: http.IncomingMessage, res: http.ServerResponse, data: Buffer, name: string): void {
    if (this.fail && this.fail.path === name && this.fail.times > 0) {
      this.fail.times--;
      return this.json(res, this.fail.status, { error: "temporarily unavailable" });
    }
    const range = /^bytes=(\d+)-(\d*)$/.exec(req.headers.range ?? "");
    const headers: Record<string, string | number> = { "Content-Type": "application/octet-stream", "Accept-Ranges": "bytes", ETag: `"${createHash("sha1").update(data).digest("hex")}"` };
    if (range) {
      const start = Number(range[1]);
      if (start >= data.length) {
        res.writeHead(416, { "Content-Range": `bytes */${data.length}` });
        res.end();
        return;
      }
      const end = range[2] ? Math.min(Number(range[2]), data.length - 1) : data.length - 1;
      res.writeHead(206, { ...headers, "Content-Length": end + 1 - start, "Content-Range": `bytes ${start}-${end}/${data.length}` });
      res.end(data.subarray(start, end + 1));
      return;
    }
    res.writeHead(200, { ...headers, "Content-Length": data.length });
    if (this.cut && this.cut.path === name && this.cut.times > 0) {
      this.cut.times--;
      res.write(data.subarray(0, this.cut.after), () => res.destroy());
      return;
    }
    res.end(data);
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const u = new URL(req.url ?? "/", this.url);
    const p = decodeURIComponent(u.pathname);
    const auth = req.headers.authorization;
    const authorized = auth === undefined ? "none" : auth === `Bearer ${this.token}` ? "good" : "bad";
    this.requests.push({ method: req.method ?? "", path: p, range: req.headers.range, authorized });
    if (this.override && (await this.override(req, res, p))) return;
    if (authorized === "bad") return this.json(res, 401, { error: "Invalid credentials in Authorization header" });
    const needAuth = () => {
      if (authorized !== "good") { this.json(res, 401, { error: "Invalid username or password." }); return true; }
      return false;
    };
    let m: RegExpExecArray | null;
    if (req.method === "POST" && p === "/api/repos/create") {
      if (needAuth()) return;
      const b = JSON.parse((await this.body(req)).toString()) as { name: string; organization: string; visibility?: string; type?: string };
      // Dataset repos are kept under "datasets/owner/name", as their URLs spell them.
      const id = `${b.type === "dataset" ? "datasets/" : ""}${b.organization}/${b.name}`;
      if (this.repos.has(id)) return this.json(res, 409, { error: "You already created this model repo", url: `${this.url}/${id}` });
      this.repos.set(id, { private: b.visibility === "private", commits: [{ sha: this.sha("init" + id), files: new Map() }] });
      return this.json(res, 200, { url: `${this.url}/${id}`, id });
    }
    if (req.method === "POST" && (m = /^\/api\/(models\/|datasets\/)([^/]+\/[^/]+)\/preupload\/([^/]+)$/.exec(p))) {
      if (needAuth()) return;
      const b = JSON.parse((await this.body(req)).toString()) as { files: Array<{ path: string; size: number }> };
      return this.json(res, 200, {
        files: b.files.map((f) => ({ path: f.path, uploadMode: f.size > 10_000 || f.path.endsWith(".safetensors") ? "lfs" : "regular" })),
      });
    }
    if (req.method === "POST" && (m = /^\/((?:datasets\/)?[^/]+\/[^/]+)\.git\/info\/lfs\/objects\/batch$/.exec(p))) {
      if (needAuth()) return;
      const b = JSON.parse((await this.body(req)).toString()) as { objects: Array<{ oid: string; size: number }> };
      return this.json(res, 200, {
        transfer: "basic",
        objects: b.objects.map((o) => ({
          oid: o.oid,
          size: o.size,
          ...(this.lfs.has(o.oid) ? {} : { actions: { upload: { href: `${this.url}/_lfs/${o.oid}` } } }),
        })),
      });
    }
    if (req.method === "PUT" && (m = /^\/_lfs\/([0-9a-f]{64})$/.exec(p))) {
      const data = await this.body(req);
      if (createHash("sha256").update(data).digest("hex") !== m[1]) return this.json(res, 400, { error: "sha256 mismatch" });
      this.lfs.set(m[1]!, data);
      res.writeHead(200);
      res.end();
      return;
    }
    if (req.method === "POST" && (m = /^\/api\/(models\/|datasets\/)([^/]+\/[^/]+)\/commit\/([^/]+)$/.exec(p))) {
      if (needAuth()) return;
      const id = repoKey(m[1]!, m[2]!);
      const repo = this.repos.get(id);
      if (!repo) return this.json(res, 404, { error: "Repository not found" });
      const files = new Map(repo.commits[repo.commits.length - 1]!.files);
      for (const line of (await this.body(req)).toString().split("\n").filter(Boolean)) {
        const { key, value } = JSON.parse(line) as { key: string; value: Record<string, string> };
        if (key === "file") files.set(value.path!, { content: Buffer.from(value.content!, "base64"), lfs: false });
        else if (key === "lfsFile") {
          const data = this.lfs.get(value.oid!);
          if (!data) return this.json(res, 422, { error: `LFS object ${value.oid} was never uploaded` });
          files.set(value.path!, { content: data, lfs: true });
        } else if (key === "deletedFile") files.delete(value.path!);
      }
      const sha = this.sha(`commit${this.counter++}`);
      repo.commits.push({ sha, files });
      return this.json(res, 200, { commitOid: sha, commitUrl: `${this.url}/${id}/commit/${sha}` });
    }
    if (req.method === "GET" && (m = /^\/api\/(models\/|datasets\/)([^/]+\/[^/]+)\/(revision|tree)\/([^/]+)(?:\/(.+))?$/.exec(p))) {
      const id = repoKey(m[1]!, m[2]!);
      const repo = this.repos.get(id);
      // Like the Hub: a missing (or unreadable private) repo is a 401 with X-Error-Code: RepoNotFound.
      if (!repo || (repo.private && authorized !== "good")) return this.json(res, 401, { error: "Repository not found" }, "RepoNotFound");
      const c = this.head(repo, m[4]!);
      if (!c) return this.json(res, 404, { error: `Invalid rev id: ${m[4]}` });
      if (m[3] === "revision") return this.json(res, 200, { id, sha: c.sha, siblings: [...c.files.keys()].map((rfilename) => ({ rfilename })) });
      // tree/REV/FOLDER lists that folder (recursively here); a folder with no files is a 404.
      const under = m[5] ? `${m[5]}/` : "";
      const listed = [...c.files].filter(([path]) => path.startsWith(under));
      if (under && !listed.length) return this.json(res, 404, { error: `Entry not found: ${m[5]}` }, "EntryNotFound");
      return this.json(res, 200, listed.map(([path, f]) => ({
        type: "file",
        path,
        size: f.content.length,
        oid: createHash("sha1").update(`blob ${f.content.length}\0`).update(f.content).digest("hex"),
        ...(f.lfs ? { lfs: { oid: createHash("sha256").update(f.content).digest("hex"), size: f.content.length, pointerSize: 134 } } : {}),
      })));
    }
    if (req.method === "GET" && (m = /^\/((?:datasets\/)?[^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(p))) {
      const repo = this.repos.get(m[1]!);
      if (!repo || (repo.private && authorized !== "good")) return this.json(res, 401, { error: "Repository not found" }, "RepoNotFound");
      const f = this.head(repo, m[2]!)?.files.get(m[3]!);
      if (!f) return this.json(res, 404, { error: "Entry not found" }, "EntryNotFound");
      if (f.lfs) {
        // Like the Hub: LFS content comes from another host via a redirect.
        const oid = createHash("sha256").update(f.content).digest("hex");
        res.writeHead(302, { Location: `${this.url}/_cdn/${oid}?name=${encodeURIComponent(m[3]!)}`, "X-Linked-Size": f.content.length, "X-Linked-ETag": `"${oid}"` });
        res.end();
        return;
      }
      return this.serve(req, res, f.content, m[3]!);
    }
    if (req.method === "GET" && (m = /^\/_cdn\/([0-9a-f]{64})$/.exec(p))) {
      const data = this.lfs.get(m[1]!);
      if (!data) return this.json(res, 404, { error: "no such object" });
      return this.serve(req, res, data, u.searchParams.get("name") ?? "");
    }
    this.json(res, 404, { error: `no route ${req.method} ${p}` });
  }

  private sha(s: string): string {
    return createHash("sha1").update(s).digest("hex");
  }
}
