import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

// The layering of docs/architecture.md, enforced: every "@mosaicbert/…" a package names — in its
// package.json dependencies, its imports, or any string in src/ (a dynamic import by name counts) —
// must be listed in that package's row of the page's allowed-imports table.

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const DOC = join(ROOT, "docs", "architecture.md");

/** The allowed-imports table: package → the packages it may import. */
export function allowedImports(markdown: string): Map<string, Set<string>> {
  const start = markdown.indexOf("<!-- allowed-imports");
  if (start < 0) throw new Error(`${DOC}: no <!-- allowed-imports --> table`);
  const rows = markdown.slice(start).split("\n").slice(1);
  const out = new Map<string, Set<string>>();
  for (const line of rows.slice(2)) {
    if (!line.startsWith("|")) break;
    const [pkg, may] = line.split("|").slice(1, 3).map((c) => c.trim());
    const name = /^`([a-z-]+)`$/.exec(pkg ?? "")?.[1];
    if (!name) throw new Error(`${DOC}: table row ${JSON.stringify(line)}: expected \`package\` in the first column`);
    out.set(name, new Set([...(may ?? "").matchAll(/`([a-z-]+)`/g)].map((m) => m[1]!)));
  }
  return out;
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out.push(...sourceFiles(p));
    else if (/\.(ts|mts|js|mjs)$/.test(e)) out.push(p);
  }
  return out;
}

/** The @mosaicbert packages a source file names in code (comments stripped; strings, imports and import() kept). */
export function namedPackages(code: string): string[] {
  const stripped = code.replace(/\/\*[\s\S]*?\*\//g, "").replace(/(^|[^:"'`\\])\/\/.*$/gm, "$1");
  return [...stripped.matchAll(/["'`]@mosaicbert\/([a-z-]+)/g)].map((m) => m[1]!);
}

const allowed = allowedImports(readFileSync(DOC, "utf8"));
const packages = readdirSync(join(ROOT, "packages")).filter((p) => statSync(join(ROOT, "packages", p, "package.json"), { throwIfNoEntry: false }));

describe("package layering (docs/architecture.md)", () => {
  it("the table lists every package, and only packages that exist", () => {
    expect([...allowed.keys()].sort()).toEqual([...packages].sort());
    for (const [pkg, may] of allowed) for (const dep of may) expect(packages, `${pkg} may import ${dep}, which is not a package`).toContain(dep);
  });

  for (const pkg of packages) {
    it(`${pkg} depends on and imports only what its row allows`, () => {
      const may = allowed.get(pkg) ?? new Set<string>();
      const json = JSON.parse(readFileSync(join(ROOT, "packages", pkg, "package.json"), "utf8")) as Record<string, Record<string, string> | undefined>;
      const declared = new Set(
        ["dependencies", "devDependencies", "peerDependencies", "optionalDependencies"]
          .flatMap((k) => Object.keys(json[k] ?? {}))
          .filter((d) => d.startsWith("@mosaicbert/"))
          .map((d) => d.slice("@mosaicbert/".length)),
      );
      const wrong: string[] = [];
      for (const d of declared) if (!may.has(d)) wrong.push(`package.json depends on @mosaicbert/${d}`);
      for (const file of sourceFiles(join(ROOT, "packages", pkg, "src"))) {
        for (const d of new Set(namedPackages(readFileSync(file, "utf8")))) {
          if (d === pkg) continue;
          if (!may.has(d)) wrong.push(`${relative(ROOT, file)} names @mosaicbert/${d}`);
          else if (!declared.has(d)) wrong.push(`${relative(ROOT, file)} imports @mosaicbert/${d}, missing from package.json`);
        }
      }
      expect(wrong, `${pkg} may import only ${[...may].join(", ") || "no @mosaicbert package"} (docs/architecture.md)`).toEqual([]);
    });
  }
});

describe("the layering check itself", () => {
  it("finds imports, re-exports, dynamic imports and bare strings, not comments", () => {
    const code = [
      'import { a } from "@mosaicbert/tensor";',
      "export * from '@mosaicbert/hub';",
      'const m = await import("@mosaicbert/kernels-cuda");',
      'const spec = "@mosaicbert/layers/testing";',
      "// a comment naming @mosaicbert/glue",
      "/* and @mosaicbert/trainer in a block */",
      "const url = `@mosaicbert/inference`; // @mosaicbert/glue",
    ].join("\n");
    expect(namedPackages(code)).toEqual(["tensor", "hub", "kernels-cuda", "layers", "inference"]);
  });

  it("reads the table's rows", () => {
    const t = allowedImports("<!-- allowed-imports -->\n| package | may import | what |\n| --- | --- | --- |\n| `a` | — | x |\n| `b` | `a` | y |\n\nafter");
    expect([...t].map(([k, v]) => [k, [...v]])).toEqual([["a", []], ["b", ["a"]]]);
  });
});

describe("op families: one name in validate/, cpu/ (fast/) and kernels-cuda/native/", () => {
  const tensorSrc = join(ROOT, "packages", "tensor", "src");
  const nativeDir = join(ROOT, "packages", "kernels-cuda", "native");
  const ts = (dir: string) => readdirSync(join(tensorSrc, dir)).filter((f) => f.endsWith(".ts") && !f.endsWith(".test.ts")).map((f) => f.slice(0, -3));
  // memory: tensors themselves (cpu/storage.ts, cpu/convert.ts; the addon's own copies); args: shared argument checks.
  const families = ts("validate").filter((f) => !["index", "args", "memory"].includes(f));
  const natives = readdirSync(nativeDir).filter((f) => /\.(cu|cc)$/.test(f)).map((f) => f.replace(/\.(cu|cc)$/, ""));

  it("every family of validate/ has its cpu/ file and its native/ kernel file of the same name", () => {
    expect(families.length).toBeGreaterThanOrEqual(8);
    for (const f of families) {
      expect(ts("cpu"), `cpu/${f}.ts`).toContain(f);
      expect(natives, `kernels-cuda/native/${f}.cu or .cc`).toContain(f);
    }
  });

  it("each op's validator is called from its own family's file in cpu/ (or fast/), nowhere else", () => {
    const wrong: string[] = [];
    for (const f of families) {
      const validators = [...readFileSync(join(tensorSrc, "validate", `${f}.ts`), "utf8").matchAll(/^export function (validate\w+)/gm)].map((m) => m[1]!);
      for (const dir of ["cpu", "fast"]) {
        for (const file of ts(dir)) {
          const code = readFileSync(join(tensorSrc, dir, `${file}.ts`), "utf8");
          for (const v of validators) if (file !== f && new RegExp(`\\b${v}\\(`).test(code)) wrong.push(`${dir}/${file}.ts calls ${v} (family ${f})`);
        }
      }
    }
    expect(wrong).toEqual([]);
  });
});

describe("tensor's subpaths", () => {
  it("only a backend imports @mosaicbert/tensor/backend-kit", () => {
    const users: string[] = [];
    for (const pkg of packages.filter((p) => p !== "tensor")) {
      for (const file of sourceFiles(join(ROOT, "packages", pkg, "src"))) {
        if (/["'`]@mosaicbert\/tensor\/backend-kit["'`]/.test(readFileSync(file, "utf8"))) users.push(pkg);
      }
    }
    expect([...new Set(users)]).toEqual(["kernels-cuda"]);
  });
});
