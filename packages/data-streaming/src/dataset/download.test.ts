import crypto from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { catLines } from "./cli-ops.js";
import { sendEndless } from "../testing/endless.js";
import { download, joinRemote } from "./download.js";

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "mds-download-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const BODY = crypto.randomBytes(281);
const SHA1 = crypto.createHash("sha1").update(BODY).digest("hex");

/**
 * A server answering every GET with `answer(n)` for its n-th request (from 1): a body (sent chunked,
 * without Content-Length, so a short one is a complete response) or a status.
 */
async function serve(answer: (n: number) => Buffer | number): Promise<{ url: string; requests: () => number; close: () => void }> {
  let n = 0;
  const server = http.createServer((req, res) => {
    const a = answer(++n);
    if (typeof a === "number") res.writeHead(a).end();
    else {
      res.writeHead(200);
      res.end(a);
    }
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/shard.00000.mds`,
    requests: () => n,
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}

/** What is in `dir` besides nothing: no file of a failed download may be left. */
const files = (dir: string) => (fs.existsSync(dir) ? fs.readdirSync(dir) : []);

describe("a download is checked against index.json before it enters the cache", () => {
  it("a transfer cut short is retried, not renamed into place", async () => {
    const s = await serve((n) => (n === 1 ? BODY.subarray(0, 100) : BODY));
    const dest = path.join(tmp, "a", "shard.00000.mds");
    try {
      await download(s.url, dest, { maxBytes: 281, expectBytes: 281, retries: 2 });
    } finally {
      s.close();
    }
    expect(s.requests()).toBe(2);
    expect(fs.readFileSync(dest).equals(BODY)).toBe(true);
  });

  it("a transfer short every time fails naming the URL, the expected and the received sizes; nothing is cached", async () => {
    const s = await serve(() => BODY.subarray(0, 100));
    const dir = path.join(tmp, "b");
    try {
      await expect(download(s.url, path.join(dir, "shard.00000.mds"), { maxBytes: 281, expectBytes: 281, retries: 2 })).rejects.toThrow(
        `${s.url}: download failed after 3 attempt(s): expected 281 bytes (the size index.json lists), received 100`,
      );
    } finally {
      s.close();
    }
    expect(s.requests()).toBe(3);
    expect(files(dir)).toEqual([]);
  });

  it("damaged bytes of the right size are caught by the hash index.json lists, and retried", async () => {
    const bad = Buffer.from(BODY);
    bad[7]! ^= 0xff;
    const s = await serve((n) => (n === 1 ? bad : BODY));
    const dest = path.join(tmp, "c", "shard.00000.mds");
    try {
      await download(s.url, dest, { expectBytes: 281, expectHash: { algo: "sha1", hex: SHA1.toUpperCase() }, retries: 2 });
    } finally {
      s.close();
    }
    expect(s.requests()).toBe(2);
    expect(fs.readFileSync(dest).equals(BODY)).toBe(true);

    const always = await serve(() => bad);
    try {
      await expect(download(always.url, path.join(tmp, "c2", "x.mds"), { expectBytes: 281, expectHash: { algo: "sha1", hex: SHA1 }, retries: 1 })).rejects.toThrow(
        new RegExp(`download failed after 2 attempt\\(s\\): expected sha1 ${SHA1} \\(the hash index.json lists\\), received data hashing to [0-9a-f]{40}`),
      );
    } finally {
      always.close();
    }
    expect(files(path.join(tmp, "c2"))).toEqual([]);
  });
});

describe("HTTP errors", () => {
  it("404, 403 and 410 fail at once, naming the URL and the status", async () => {
    for (const [status, text] of [[404, "Not Found"], [403, "Forbidden"], [410, "Gone"]] as const) {
      const s = await serve(() => status);
      try {
        await expect(download(s.url, path.join(tmp, `h${status}`, "index.json"), { retries: 2 })).rejects.toThrow(
          `${s.url}: download failed after 1 attempt(s): HTTP ${status} ${text}`,
        );
      } finally {
        s.close();
      }
      expect(s.requests()).toBe(1);
    }
  });

  it("503 and 429 are retried", async () => {
    const s = await serve((n) => (n === 1 ? 503 : n === 2 ? 429 : BODY));
    try {
      await download(s.url, path.join(tmp, "h503", "shard.00000.mds"), { retries: 2, expectBytes: 281 });
    } finally {
      s.close();
    }
    expect(s.requests()).toBe(3);
  });

  it("a refused connection names its cause (ECONNREFUSED), not only 'fetch failed'", async () => {
    const server = http.createServer();
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    const port = (server.address() as AddressInfo).port;
    await new Promise<void>((r) => server.close(() => r()));
    const url = `http://127.0.0.1:${port}/index.json`;
    await expect(download(url, path.join(tmp, "refused", "index.json"), { retries: 0 })).rejects.toThrow(
      new RegExp(`^${url.replace(/\./g, "\\.")}: download failed after 1 attempt\\(s\\): fetch failed \\(.*ECONNREFUSED`),
    );
  });
});

const MDS = new URL("../../../../../shared/data/mds/", import.meta.url).pathname;
const USER = "alice";
const PASSWORD = "S3cr@t:Passw0rd";
const USERINFO = `${USER}:${encodeURIComponent(PASSWORD)}`;

/**
 * A static server of shared/data/mds that wants Basic auth alice/PASSWORD and `?sig=ok` (a signed
 * URL or SAS token), and logs what it was asked.
 */
async function guarded(): Promise<{ base: string; seen: Array<{ url: string; auth?: string }>; close: () => void }> {
  const seen: Array<{ url: string; auth?: string }> = [];
  const server = http.createServer((req, res) => {
    seen.push({ url: req.url ?? "", auth: req.headers.authorization });
    const u = new URL(req.url ?? "/", "http://x");
    if (req.headers.authorization !== `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString("base64")}`) return void res.writeHead(401).end();
    if (u.searchParams.get("sig") !== "ok") return void res.writeHead(403).end();
    if (u.pathname === "/bad/index.json") return void res.writeHead(200).end("{ not json");
    const file = path.join(MDS, decodeURIComponent(u.pathname));
    if (!fs.existsSync(file) || !fs.statSync(file).isFile()) return void res.writeHead(404).end();
    res.writeHead(200).end(fs.readFileSync(file));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    base: `127.0.0.1:${(server.address() as AddressInfo).port}`,
    seen,
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}

async function cat(url: string, local: string): Promise<string> {
  let out = "";
  for await (const line of catLines(url, Infinity, local)) out += line + "\n";
  return out;
}

describe("http(s):// remotes with user:password@ and with a query string", () => {
  it("joinRemote appends to the path and keeps the query of an http(s) URL", () => {
    expect(joinRemote("https://h/ds?sv=1&sig=a%2Fb", "train", "index.json")).toBe("https://h/ds/train/index.json?sv=1&sig=a%2Fb");
    expect(joinRemote("https://h/ds/?sig=x#f", "index.json")).toBe("https://h/ds/index.json?sig=x#f");
    expect(joinRemote("https://h/ds?sig=x", "")).toBe("https://h/ds?sig=x");
    expect(joinRemote("s3://b/ds", "train")).toBe("s3://b/ds/train");
  });

  it("the userinfo is sent as Basic auth, never to the URL; the query stays a query", async () => {
    const s = await guarded();
    try {
      const want = fs.readFileSync(`${MDS}tiny/expected.jsonl`, "utf8");
      expect(await cat(`http://${USERINFO}@${s.base}/tiny?sig=ok`, path.join(tmp, "auth-tiny"))).toBe(want);
      expect(s.seen.length).toBeGreaterThan(1);
      for (const r of s.seen) {
        expect(r.url).toMatch(/^\/tiny\/[^?]+\?sig=ok$/);
        expect(r.auth).toBe(`Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString("base64")}`);
      }
    } finally {
      s.close();
    }
  });

  it("the password is in no error message: refused credentials, a missing file, a bad index.json, a dead server", async () => {
    const s = await guarded();
    const messages: string[] = [];
    const fail = async (p: Promise<unknown>) => {
      const e = await p.then(() => null, (x: Error) => x);
      expect(e).not.toBeNull();
      messages.push(e!.message);
      return e!.message;
    };
    fs.mkdirSync(path.join(tmp, "bad-index"), { recursive: true });
    try {
      const wrong = `http://${USER}:wrong-${encodeURIComponent(PASSWORD)}@${s.base}/tiny/index.json?sig=ok`;
      expect(await fail(download(wrong, path.join(tmp, "pw", "index.json"), { retries: 2 }))).toBe(`http://${USER}:***@${s.base}/tiny/index.json?sig=ok: download failed after 1 attempt(s): HTTP 401 Unauthorized`);
      expect(await fail(download(`http://${USERINFO}@${s.base}/none/index.json?sig=ok`, path.join(tmp, "pw", "x.json"), { retries: 0 }))).toMatch(/HTTP 404/);
      expect(await fail(cat(`http://${USERINFO}@${s.base}/bad?sig=ok`, path.join(tmp, "pw2")))).toContain(`http://${USER}:***@${s.base}/bad/index.json?sig=ok`);
      expect(await fail(cat(`http://${USERINFO}@${s.base}/none?sig=ok`, path.join(tmp, "pw3")))).toMatch(/HTTP 404/);
    } finally {
      s.close();
    }
    expect(await fail(download(`http://${USERINFO}@${s.base}/tiny/index.json`, path.join(tmp, "pw", "y.json"), { retries: 0 }))).toMatch(/ECONNREFUSED/);
    expect(await fail(download(`http://tokenonly_${"x".repeat(8)}@${s.base}/tiny/index.json`, path.join(tmp, "pw", "z.json"), { retries: 0 }))).toMatch(/^http:\/\/\*\*\*@127/);
    for (const m of messages) {
      for (const secret of [PASSWORD, encodeURIComponent(PASSWORD), "Passw0rd", "tokenonly_"]) expect(m, m).not.toContain(secret);
      expect(m).not.toMatch(/\n/);
    }
  });
});


describe("redirects are followed as a stranger's server may send them", () => {
  /** A server answering every request with `answer(url)`; logs each request's path and Authorization. */
  async function server(answer: (url: string, res: http.ServerResponse) => void) {
    const seen: Array<{ url: string; auth?: string }> = [];
    const s = http.createServer((req, res) => {
      seen.push({ url: req.url ?? "", auth: req.headers.authorization });
      answer(req.url ?? "", res);
    });
    await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
    return {
      origin: `http://127.0.0.1:${(s.address() as AddressInfo).port}`,
      seen,
      close: () => {
        s.closeAllConnections();
        s.close();
      },
    };
  }

  it("a redirect to another origin is followed without the user:password@ credentials; a same-origin one keeps them", async () => {
    const other = await server((_u, res) => void res.writeHead(200).end(BODY));
    const first = await server((u, res) => {
      if (u === "/same") return void res.writeHead(302, { location: "/shard.00000.mds" }).end();
      if (u === "/away") return void res.writeHead(302, { location: `${other.origin}/shard.00000.mds` }).end();
      res.writeHead(200).end(BODY);
    });
    const auth = `Basic ${Buffer.from(`${USER}:${PASSWORD}`).toString("base64")}`;
    try {
      const hostPart = first.origin.replace("http://", "");
      await download(`http://${USERINFO}@${hostPart}/same`, path.join(tmp, "redir", "same.mds"), { expectBytes: BODY.length, expectHash: { algo: "sha1", hex: SHA1 } });
      expect(first.seen.map((r) => [r.url, r.auth])).toEqual([["/same", auth], ["/shard.00000.mds", auth]]);
      await download(`http://${USERINFO}@${hostPart}/away`, path.join(tmp, "redir", "away.mds"), { expectBytes: BODY.length });
      expect(fs.readFileSync(path.join(tmp, "redir", "away.mds"))).toEqual(BODY);
      // The other origin got the request, never the credentials.
      expect(other.seen).toEqual([{ url: "/shard.00000.mds", auth: undefined }]);
    } finally {
      first.close();
      other.close();
    }
  });

  it("a redirect loop fails in bounded time and requests, naming the cause, without the password; nothing is cached", async () => {
    const loop = await server((u, res) => void res.writeHead(302, { location: u === "/a" ? "/b" : "/a" }).end());
    const dest = path.join(tmp, "redir", "loop.mds");
    const t0 = Date.now();
    try {
      const e = await download(`http://${USERINFO}@${loop.origin.replace("http://", "")}/a`, dest, { retries: 1, timeoutMs: 5000 }).then(
        () => null,
        (x: Error) => x,
      );
      expect(e?.message).toMatch(/download failed after 2 attempt\(s\): .*redirect count exceeded/);
      expect(e?.message).toContain(`http://${USER}:***@`);
      expect(e?.message).not.toContain(PASSWORD);
      expect(e?.message).not.toContain(encodeURIComponent(PASSWORD));
    } finally {
      loop.close();
    }
    expect(Date.now() - t0).toBeLessThan(10_000);
    // fetch's limit of 20 redirects per attempt: 21 requests each, 2 attempts.
    expect(loop.seen.length).toBeLessThanOrEqual(2 * 21);
    expect(files(path.dirname(dest)).filter((f) => f.startsWith("loop"))).toEqual([]);
  });

  it("a redirect to a local file (file://) is not followed: it fails in bounded time, naming the URL; nothing is read or cached", async () => {
    const secret = path.join(tmp, "redir", "secret.txt");
    fs.mkdirSync(path.dirname(secret), { recursive: true });
    fs.writeFileSync(secret, "local secret");
    const hop = await server((_u, res) => void res.writeHead(302, { location: `file://${secret}` }).end());
    const dest = path.join(tmp, "redir", "local.mds");
    const t0 = Date.now();
    try {
      const e = await download(`${hop.origin}/shard.00000.mds`, dest, { retries: 1, timeoutMs: 5000 }).then(
        () => null,
        (x: Error) => x,
      );
      expect(e?.message).toContain(`${hop.origin}/shard.00000.mds`);
      expect(e?.message).not.toContain("local secret");
    } finally {
      hop.close();
    }
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(hop.seen.length).toBeLessThanOrEqual(2);
    expect(fs.existsSync(dest) || fs.existsSync(dest + ".tmp")).toBe(false);
  });

  it("a redirect to an endless body is still cut off at the declared size (memory stays bounded)", async () => {
    const count = { sent: 0 };
    const endless = await server((_u, res) => sendEndless(res, 0x42, count));
    const hop = await server((_u, res) => void res.writeHead(301, { location: `${endless.origin}/shard.00000.mds` }).end());
    const dest = path.join(tmp, "redir", "endless.mds");
    const heap0 = process.memoryUsage().arrayBuffers;
    const t0 = Date.now();
    try {
      await expect(download(`${hop.origin}/shard.00000.mds`, dest, { maxBytes: 196, retries: 2 })).rejects.toThrow(/the body runs past the 196 bytes expected/);
    } finally {
      hop.close();
      endless.close();
    }
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(count.sent).toBeLessThan(64 << 20);
    expect(process.memoryUsage().arrayBuffers - heap0).toBeLessThan(64 << 20);
    expect(fs.existsSync(dest) || fs.existsSync(dest + ".tmp")).toBe(false);
  });
});
