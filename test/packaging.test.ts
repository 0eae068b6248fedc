import { existsSync, readFileSync, readdirSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
// @ts-expect-error: a plain .mjs helper without declarations
import { resolveSource } from "../scripts/workspace-sources.mjs";
// @ts-expect-error: a plain .mjs helper without declarations
import { jsExamples } from "../scripts/pack-check/readme.mjs";

// The published shape of every package, checked from the workspace in milliseconds (scripts/pack-check/run.mjs
// then tries the real tarballs): exports every consumer can use, and each entry point reachable from the tests.

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const packages = readdirSync(join(ROOT, "packages")).filter((d) => existsSync(join(ROOT, "packages", d, "package.json")));
const manifest = (d: string) => JSON.parse(readFileSync(join(ROOT, "packages", d, "package.json"), "utf8"));

describe.each(packages)("packages/%s", (dir) => {
  const m = manifest(dir);

  it("exports types first, then import, then default, all in dist/ (no condition naming unshipped sources)", () => {
    for (const [sub, conds] of Object.entries(m.exports as Record<string, Record<string, string>>)) {
      expect(Object.keys(conds), `exports["${sub}"]`).toEqual(["types", "import", "default"]);
      for (const target of Object.values(conds)) expect(target, `exports["${sub}"]`).toMatch(/^\.\/dist\//);
      expect(m.files, "files").toContain("dist");
    }
  });

  it("sets sideEffects, engines and a README with a runnable ```js example", () => {
    expect(m.sideEffects, "sideEffects").toBeDefined();
    expect(m.engines?.node, "engines.node").toBe(">=20.19");
    expect(jsExamples(readFileSync(join(ROOT, "packages", dir, "README.md"), "utf8")).length, "README ```js blocks").toBeGreaterThan(0);
  });

  it("every entry point resolves to a source file inside the workspace (tsconfig.base.json paths)", () => {
    for (const sub of Object.keys(m.exports)) {
      const spec = sub === "." ? m.name : `${m.name}/${sub.slice(2)}`;
      const file = (resolveSource as (s: string) => string | null)(spec);
      expect(file, spec).toMatch(new RegExp(`packages/${dir}/src/.*\\.ts$`));
      expect(existsSync(file!), spec).toBe(true);
    }
  });
});
