import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

let root: string | null = null;

/**
 * The @mosaicbert/trainer package folder (which holds recipes/ and assets/), found by walking up
 * from this module: the same code runs from src/ (tests, tsx) and from the bundled dist/.
 */
export function packageRoot(): string {
  if (root) return root;
  let dir = dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const pj = join(dir, "package.json");
    if (existsSync(pj)) {
      try {
        if ((JSON.parse(readFileSync(pj, "utf8")) as { name?: string }).name === "@mosaicbert/trainer") return (root = dir);
      } catch {
        // not ours; keep walking
      }
    }
    const up = dirname(dir);
    if (up === dir) throw new Error("cannot locate the @mosaicbert/trainer package folder (recipes/, assets/)");
    dir = up;
  }
}

export const recipesDir = (): string => join(packageRoot(), "recipes");
export const sampleCorpusDir = (): string => join(packageRoot(), "assets", "sample-corpus");
