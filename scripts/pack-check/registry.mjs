// A minimal npm registry for one scope, serving packed tarballs, so that `npm install -g @mosaicbert/trainer`
// and `npx` can be tried as a user would (npm is pointed at it with `--@mosaicbert:registry=<url>`; every other
// package still comes from the real registry).
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import * as http from "node:http";
import { basename } from "node:path";

/** tarballs: [{ file, manifest }] (manifest: the package.json inside the tarball). */
export async function startRegistry(tarballs) {
  const byName = new Map(tarballs.map((t) => [t.manifest.name, { ...t, bytes: readFileSync(t.file) }]));
  const server = http.createServer((req, res) => {
    const url = decodeURIComponent(req.url ?? "/");
    const tgz = /^\/-\/(.+)$/.exec(url);
    if (tgz) {
      const t = [...byName.values()].find((x) => basename(x.file) === tgz[1]);
      if (!t) return void res.writeHead(404).end();
      res.writeHead(200, { "content-type": "application/octet-stream", "content-length": t.bytes.length });
      return void res.end(t.bytes);
    }
    const t = byName.get(url.slice(1));
    if (!t) return void res.writeHead(404, { "content-type": "application/json" }).end('{"error":"not found"}');
    const { port } = server.address();
    const v = t.manifest.version;
    const body = JSON.stringify({
      name: t.manifest.name,
      "dist-tags": { latest: v },
      versions: {
        [v]: {
          ...t.manifest,
          _id: `${t.manifest.name}@${v}`,
          dist: {
            tarball: `http://127.0.0.1:${port}/-/${basename(t.file)}`,
            shasum: createHash("sha1").update(t.bytes).digest("hex"),
            integrity: `sha512-${createHash("sha512").update(t.bytes).digest("base64")}`,
          },
        },
      },
    });
    res.writeHead(200, { "content-type": "application/json" }).end(body);
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  // npm keeps connections alive: close them, or close() would wait for them.
  return { url: `http://127.0.0.1:${server.address().port}/`, close: () => new Promise((r) => { server.close(r); server.closeAllConnections(); }) };
}
