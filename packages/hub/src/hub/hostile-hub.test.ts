import { afterAll, beforeAll, describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { createHash } from "node:crypto";
import type * as http from "node:http";
import { HubError, endpointKey, pullModel, pushModel } from "../index.js";
import { FakeHub, failureOf, sendJson } from "../testing/fake-hub.js";

// pullModel against a hostile (or merely unusual) server: the fake Hub with `override` answering
// some routes the way an attacker would.
const TOKEN = "hf_hostile_test_token_0123456789abcdef";
const root = fs.mkdtempSync(path.join(os.tmpdir(), "hub-hostile-"));
let hub: FakeHub;
let commit: string;
const src = path.join(root, "src");
const CONFIG = '{"model_type":"bert","hidden_size":4}\n';
const WEIGHTS = new Uint8Array(30_000).map((_, i) => (i * 7) % 251);

const errorOf = failureOf;


const blobId = (b: Uint8Array) => createHash("sha1").update(`blob ${b.length}\0`).update(b).digest("hex");
const other = () => hub.url.replace("127.0.0.1", "localhost"); // same server, another origin
let cacheN = 0;
const freshCache = () => path.join(root, `cache${cacheN++}`);
const filesUnder = (dir: string) => (fs.existsSync(dir) ? fs.readdirSync(dir, { recursive: true, encoding: "utf8" }) : []);

beforeAll(async () => {
  hub = await new FakeHub(TOKEN).start();
  fs.mkdirSync(src);
  fs.writeFileSync(path.join(src, "config.json"), CONFIG);
  fs.writeFileSync(path.join(src, "model.safetensors"), WEIGHTS);
  commit = (await pushModel(src, "me/h", { hubUrl: hub.url, token: TOKEN })).commit;
});
afterAll(async () => {
  await hub.close();
  fs.rmSync(root, { recursive: true, force: true });
});

describe("the token only goes to the configured endpoint", () => {
  it("refuses a listing whose next-page link points to another host, and follows one on the same host", async () => {
    const seen: Array<{ path: string; auth: boolean }> = [];
    const page = (files: unknown[], next?: string) => (_req: http.IncomingMessage, res: http.ServerResponse) =>
      sendJson(res, 200, files, next ? { Link: `<${next}>; rel="next"` } : {});
    const cfg = { type: "file", path: "config.json", size: CONFIG.length, oid: blobId(Buffer.from(CONFIG)) };
    hub.override = (req, res, p) => {
      seen.push({ path: req.url ?? "", auth: req.headers.authorization !== undefined });
      if (p.startsWith("/api/models/me/h/tree/") && !req.url!.includes("cursor")) return page([cfg], `${other()}/api/models/me/h/tree/${commit}?cursor=2`)(req, res);
      return false;
    };
    const e = await errorOf(pullModel("me/h", { hubUrl: hub.url, token: TOKEN, cacheDir: freshCache() }));
    expect(e).toBeInstanceOf(HubError);
    expect(e.message).toMatch(/next-page link points to another host \(localhost:\d+\); refusing to follow it/);
    expect(seen.filter((s) => s.path.includes("cursor"))).toEqual([]);

    hub.override = (req, res, p) => {
      if (p.startsWith("/api/models/me/h/tree/") && !req.url!.includes("cursor")) return page([cfg], `/api/models/me/h/tree/${commit}?cursor=2`)(req, res);
      if (p.startsWith("/api/models/me/h/tree/")) return page([{ type: "file", path: "model.safetensors", size: WEIGHTS.length, oid: blobId(WEIGHTS) }])(req, res);
      return false;
    };
    try {
      const r = await pullModel("me/h", { hubUrl: hub.url, token: TOKEN, cacheDir: freshCache() });
      expect(r.files.map((f) => f.path)).toEqual(["config.json", "model.safetensors"]);
      expect(Buffer.compare(fs.readFileSync(path.join(r.dir, "model.safetensors")), WEIGHTS)).toBe(0);
    } finally {
      hub.override = null;
    }
  });

  it("sends no token along a download redirected to another host", async () => {
    const auths: Array<string | undefined> = [];
    hub.override = (req, res, p) => {
      if (p === `/me/h/resolve/${commit}/config.json`) {
        res.writeHead(302, { Location: `${other()}/elsewhere/config.json` });
        res.end();
        return true;
      }
      if (p === "/elsewhere/config.json") {
        auths.push(req.headers.authorization);
        res.writeHead(200, { "Content-Length": CONFIG.length });
        res.end(CONFIG);
        return true;
      }
      return false;
    };
    try {
      const r = await pullModel("me/h", { hubUrl: hub.url, token: TOKEN, cacheDir: freshCache() });
      expect(fs.readFileSync(path.join(r.dir, "config.json"), "utf8")).toBe(CONFIG);
      expect(auths).toEqual([undefined]);
    } finally {
      hub.override = null;
    }
  });

  it("scrubs the token from a server's error body before cutting it", async () => {
    // The token sits where a 200-character cut would keep all but its last characters.
    const body = `${"x".repeat(180)}${TOKEN}${"y".repeat(100)}`;
    for (const route of [`/api/models/me/h/revision/main`, `/me/h/resolve/${commit}/config.json`]) {
      hub.override = (_req, res, p) => (p === route ? sendJson(res, 403, { error: body }) : false);
      const e = await errorOf(pullModel("me/h", { hubUrl: hub.url, token: TOKEN, cacheDir: freshCache() }));
      expect(e.message).toMatch(/HTTP 403/);
      expect(e.message).not.toContain(TOKEN.slice(0, 12));
      expect(e.message).toContain("***");
    }
    hub.override = null;
  });
});

describe("the cache", () => {
  it("re-downloads a cached file whose content no longer has the listed hash (same size)", async () => {
    const cacheDir = freshCache();
    const r = await pullModel("me/h", { hubUrl: hub.url, token: TOKEN, cacheDir });
    const cached = path.join(r.dir, "model.safetensors");
    const tampered = Buffer.from(WEIGHTS);
    tampered[100] ^= 0xff;
    fs.writeFileSync(cached, tampered);
    const before = hub.requests.length;
    const again = await pullModel("me/h", { hubUrl: hub.url, token: TOKEN, cacheDir });
    expect(again.cached).toEqual(["config.json"]);
    expect(hub.requests.slice(before).some((q) => q.path.startsWith("/_cdn/"))).toBe(true);
    expect(Buffer.compare(fs.readFileSync(cached), WEIGHTS)).toBe(0);
  });

  it("keeps each endpoint's files apart: a mirror's weights are never served for another endpoint", async () => {
    const cacheDir = freshCache();
    const mirror = await new FakeHub(TOKEN).start();
    try {
      const evil = path.join(root, "evil");
      fs.mkdirSync(evil);
      fs.writeFileSync(path.join(evil, "config.json"), CONFIG);
      fs.writeFileSync(path.join(evil, "model.safetensors"), new Uint8Array(WEIGHTS.length).fill(66));
      await pushModel(evil, "me/h", { hubUrl: mirror.url, token: TOKEN });
      const fromMirror = await pullModel("me/h", { hubUrl: mirror.url, token: TOKEN, cacheDir });
      const fromHub = await pullModel("me/h", { hubUrl: hub.url, token: TOKEN, cacheDir });
      expect(fromHub.cached).toEqual([]);
      expect(path.dirname(path.dirname(fromHub.dir))).toBe(path.join(cacheDir, endpointKey(hub.url), "models--me--h"));
      expect(fromMirror.dir).not.toBe(fromHub.dir);
      expect(Buffer.compare(fs.readFileSync(path.join(fromHub.dir, "model.safetensors")), WEIGHTS)).toBe(0);
    } finally {
      await mirror.close();
    }
  });

  it("downloads a listing without hashes (and does not reuse those files unverified)", async () => {
    const cacheDir = freshCache();
    hub.override = (_req, res, p) =>
      p.startsWith("/api/models/me/h/tree/") ? sendJson(res, 200, [{ type: "file", path: "config.json", size: CONFIG.length }]) : false;
    try {
      const r = await pullModel("me/h", { hubUrl: hub.url, token: TOKEN, cacheDir });
      expect(fs.readFileSync(path.join(r.dir, "config.json"), "utf8")).toBe(CONFIG);
      expect((await pullModel("me/h", { hubUrl: hub.url, token: TOKEN, cacheDir })).cached).toEqual([]);
    } finally {
      hub.override = null;
    }
  });
});

describe("downloads and listings a server lies about", () => {
  it("stops a download at the declared size and leaves no .part", async () => {
    const cacheDir = freshCache();
    let sent = 0;
    hub.override = (_req, res, p) => {
      if (p !== `/me/h/resolve/${commit}/config.json`) return false;
      res.writeHead(200, { "Content-Type": "application/octet-stream" });
      const chunk = Buffer.alloc(64 * 1024, 120);
      const pump = () => {
        while (sent < 300 * 2 ** 20 && !res.destroyed) {
          sent += chunk.length;
          if (!res.write(chunk)) return void res.once("drain", pump);
        }
        res.end();
      };
      pump();
      return true;
    };
    try {
      const e = await errorOf(pullModel("me/h", { hubUrl: hub.url, token: TOKEN, cacheDir }));
      expect(e.message).toMatch(new RegExp(`downloading config\\.json: the server sent more than the ${CONFIG.length} bytes the listing declares`));
      expect(sent).toBeLessThan(50 * 2 ** 20);
      expect(filesUnder(cacheDir).filter((f) => f.endsWith(".part"))).toEqual([]);
    } finally {
      hub.override = null;
    }
  });

  it("removes the .part when a download fails for good", async () => {
    const cacheDir = freshCache();
    // The first answer breaks off after 10 kB (a .part is written), every retry is a 503.
    let n = 0;
    hub.override = (_req, res, p) => {
      if (!p.startsWith("/_cdn/")) return false;
      if (n++ > 0) return sendJson(res, 503, { error: "down" });
      res.writeHead(200, { "Content-Length": WEIGHTS.length });
      res.write(WEIGHTS.subarray(0, 10_000), () => res.destroy());
      return true;
    };
    try {
      const e = await errorOf(pullModel("me/h", { hubUrl: hub.url, token: TOKEN, cacheDir }));
      expect(e.message).toMatch(/downloading model\.safetensors failed with HTTP 503/);
      expect(n).toBe(4);
      expect(filesUnder(cacheDir).filter((f) => f.endsWith(".part"))).toEqual([]);
    } finally {
      hub.override = null;
    }
  });

  it.each([
    ["", /unsafe file path '' \(empty/],
    [".", /unsafe file path '\.'/],
    ["./", /unsafe file path '\.\/'/],
    ["a/../../etc/passwd", /unsafe file path/],
    ["/etc/passwd", /unsafe file path/],
    ["a//b", /unsafe file path/],
    ["a\\b", /unsafe file path 'a\\b' \(backslash or control character\)/],
    ["\u001b[2J\u001b[31mred.txt", /unsafe file path '\\x1b\[2J\\x1b\[31mred\.txt'/],
    ["evil\u202etxt.exe", /unsafe file path 'evil\\u202etxt\.exe'/],
  ])("refuses the listed path %j without printing it raw", async (bad, msg) => {
    hub.override = (_req, res, p) => (p.startsWith("/api/models/me/h/tree/") ? sendJson(res, 200, [{ type: "file", path: bad, size: 1 }]) : false);
    try {
      const e = await errorOf(pullModel("me/h", { hubUrl: hub.url, token: TOKEN, cacheDir: freshCache() }));
      expect(e).toBeInstanceOf(HubError);
      expect(e.message).toMatch(msg);
      expect(e.message).not.toMatch(/[\u0000-\u001f\u202e]/);
    } finally {
      hub.override = null;
    }
  });

  it("refuses duplicate paths, a file that is also a folder, and an oversized listing", async () => {
    const f = (p: string) => ({ type: "file", path: p, size: 1 });
    for (const [items, msg] of [
      [[f("a.txt"), f("a.txt")], /'a\.txt' is listed twice/],
      [[f("a"), f("a/b.txt")], /'a' is listed both as a file and as the folder of 'a\/b\.txt'/],
      [[{ type: "file", path: "x", size: -1 }], /'x' has no valid size/],
      [[{ type: "file", path: "x", size: 1, lfs: { oid: "zz", size: 1 } }], /'x' has a malformed LFS sha256/],
    ] as const) {
      hub.override = (_req, res, p) => (p.startsWith("/api/models/me/h/tree/") ? sendJson(res, 200, items) : false);
      await expect(pullModel("me/h", { hubUrl: hub.url, token: TOKEN, cacheDir: freshCache() })).rejects.toThrow(msg);
    }
    hub.override = null;
    await expect(pullModel("me/h", { hubUrl: hub.url, token: TOKEN, cacheDir: freshCache(), limits: { maxListingBytes: 100 } }))
      .rejects.toThrow(/exceeds the 100-byte limit \(maxListingBytes\)/);
  });

  it("gives up on a server that goes silent (no answer, or a body that stalls), without retrying", async () => {
    const held: http.ServerResponse[] = [];
    let downloads = 0;
    hub.override = (_req, res, p) => {
      if (p === "/api/models/me/h/revision/main") {
        held.push(res); // never answered
        return true;
      }
      return false;
    };
    try {
      const t0 = Date.now();
      const e = await errorOf(pullModel("me/h", { hubUrl: hub.url, token: TOKEN, cacheDir: freshCache(), limits: { timeoutMs: 300 } }));
      expect(e.message).toMatch(/resolving me\/h@main: 127\.0\.0\.1:\d+ sent nothing for 0\.3 s \(timeoutMs\); giving up/);
      expect(Date.now() - t0).toBeLessThan(5000);
      const cacheDir = freshCache();
      hub.override = (_req, res, p) => {
        if (!p.startsWith("/_cdn/")) return false;
        downloads++;
        res.writeHead(200, { "Content-Length": WEIGHTS.length });
        res.write(WEIGHTS.subarray(0, 1000)); // then nothing more
        held.push(res);
        return true;
      };
      const e2 = await errorOf(pullModel("me/h", { hubUrl: hub.url, token: TOKEN, cacheDir, limits: { timeoutMs: 300 } }));
      expect(e2.message).toMatch(/downloading model\.safetensors: 127\.0\.0\.1:\d+ sent nothing for 0\.3 s/);
      expect(downloads).toBe(1);
      expect(filesUnder(cacheDir).filter((f) => f.endsWith(".part"))).toEqual([]);
    } finally {
      hub.override = null;
      for (const r of held) r.destroy();
    }
  });

  it("says a missing repo was not found, whether or not a token is given", async () => {
    const e1 = await errorOf(pullModel("me/nope", { hubUrl: hub.url, token: TOKEN, cacheDir: freshCache() }));
    expect(e1.message).toMatch(/resolving me\/nope@main failed with HTTP 401: repository not found/);
    expect(e1.message).not.toMatch(/token was rejected/);
    const e2 = await errorOf(pullModel("me/nope", { hubUrl: hub.url, cacheDir: freshCache() }));
    expect(e2.message).toMatch(/repository not found .*set HF_TOKEN or pass --token/);
  });
});
