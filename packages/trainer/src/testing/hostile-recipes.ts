/**
 * Hostile `pretrain --config` inputs (issue #18): recipe files written by a stranger, and the tiny-cpu
 * recipe pointed (`--data`) at hostile datasets of the MDS corpus. Used by config tests and by
 * scripts/hostile-data-cli.mjs, which runs each through the real CLI and measures it.
 */
import * as fs from "node:fs";
import * as path from "node:path";
import type { HostileCase } from "@mosaicbert/data-streaming/testing";
import { recipesDir } from "../paths.js";

export interface HostileRecipe {
  name: string;
  what: string;
  /** The --config argument. */
  file: string;
  /** More CLI arguments. */
  args: string[];
  /** The CLI's message must match (it names the file). */
  expect: RegExp;
}

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");

/** Recipes under `dir` (created); `corpus`: MDS cases to train on (those with a `text` column are used). */
export function hostileRecipes(dir: string, corpus: HostileCase[] = []): HostileRecipe[] {
  fs.mkdirSync(dir, { recursive: true });
  const tiny = fs.readFileSync(path.join(recipesDir(), "tiny-cpu.yaml"), "utf8");
  const out: HostileRecipe[] = [];
  const recipe = (name: string, what: string, body: string, expect: (file: string) => RegExp, drop: string[] = [], args: string[] = []) => {
    const file = path.join(dir, `${name}.yaml`);
    const kept = tiny.split("\n").filter((l) => !drop.some((k) => l.startsWith(`${k}:`)));
    fs.writeFileSync(file, body === "" ? kept.join("\n") : `${kept.join("\n")}\n${body}\n`);
    out.push({ name, what, file, args, expect: expect(file) });
  };
  const invalid = (file: string, rest: string) => new RegExp(`invalid config ${esc(file)}:[\\s\\S]*${rest}`);

  recipe("inherited-keys", "keys every object inherits: constructor, toString, __proto__", "constructor: 1\ntoString: x\n__proto__:\n  polluted: true", (f) => invalid(f, "constructor: unknown key"));
  recipe("interp-constructor", "run_name: ${constructor}", "run_name: ${constructor}", (f) => invalid(f, "run_name: \\$\\{constructor\\} refers to a top-level key that does not exist"), ["run_name"]);
  recipe("seed-2^53+1", "seed: 9007199254740993 (YAML rounds it)", "seed: 9007199254740993", (f) => invalid(f, "seed: expected an integer in \\[0, 4294967295\\], got 9007199254740992"), ["seed"]);
  recipe("seq-len-1e9", "max_seq_len: 1e9", "max_seq_len: 1e9", (f) => invalid(f, "max_seq_len: expected an integer in \\[1, 65536\\], got 1000000000"), ["max_seq_len"]);
  const laughs = ["l0: &l0 [x, x, x, x, x, x, x, x, x, x]"];
  for (let i = 1; i < 8; i++) laughs.push(`l${i}: &l${i} [${Array(10).fill(`*l${i - 1}`).join(", ")}]`);
  recipe("yaml-aliases", "YAML aliases expanding 10^8 times (billion laughs)", laughs.join("\n"), (f) => invalid(f, "not valid YAML: Excessive alias count"));
  const refs = ["r0: xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"];
  for (let i = 1; i <= 8; i++) refs.push(`r${i}: "${`\${r${i - 1}}`.repeat(10)}"`);
  recipe("interp-multiply", "${…} references of references, 10^8 copies", `${refs.join("\n")}\nrun_name: \${r8}`, (f) => invalid(f, "references expand to more than the 65536 characters"), ["run_name"]);
  recipe("flow-nesting", "a value nested 20,000 deep in [ ] (aborted the YAML parser)", `extra: ${"[".repeat(20_000)}${"]".repeat(20_000)}`, (f) => invalid(f, "not valid YAML: line \\d+: collections nested more than 64 deep"));
  recipe("compact-nesting", "20,000 compact entries '- - - …' on one line", `extra:\n  ${"- ".repeat(20_000)}x`, (f) => invalid(f, "not valid YAML: line \\d+: entries nested more than 64 deep"));
  recipe("zero-duration", "--max-duration 0ba", "", (f) => invalid(f, 'max_duration: expected a duration above zero \\(e\\.g\\. "1ba"\\), got "0ba"'), [], ["--max-duration", "0ba"]);

  // Training data from the hostile MDS corpus: train/ and val/ are the hostile dataset.
  for (const c of corpus) {
    if (c.expect === "loads" || c.name.startsWith("pkl") || c.name.startsWith("json")) continue;
    const data = path.join(dir, `data-${c.name}`);
    fs.mkdirSync(data, { recursive: true });
    for (const split of ["train", "val"]) if (!fs.existsSync(path.join(data, split))) fs.symlinkSync(c.dir, path.join(data, split));
    const where = `${esc(data)}/(train|val)/`;
    recipe(`data ${c.name}`, `--data with train/ and val/ = ${c.what}`, "", () => new RegExp(where + (c.expect as RegExp).source), [], ["--data", data, "--max-duration", "1ba"]);
  }
  return out;
}
