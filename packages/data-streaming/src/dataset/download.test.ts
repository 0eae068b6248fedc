import crypto from "node:crypto";
import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { download } from "./download.js";

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
