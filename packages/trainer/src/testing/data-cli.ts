// Helpers for tests of `mosaicbert data …`: run the subcommand in-process, build C4-style inputs from the goldens.
import { Command } from "commander";
import fs from "node:fs";
import path from "node:path";
import { Writable } from "node:stream";
import { registerData } from "../cli/data.js";

export const MDS_GOLDENS = new URL("../../../../../shared/data/mds/", import.meta.url).pathname;

/** Runs `mosaicbert data ARGS` in this process; resolves with what it wrote to stdout and stderr. */
export async function dataCli(args: string[]): Promise<{ out: string; err: string }> {
  let out = "";
  let err = "";
  const sink = (f: (s: string) => void) => new Writable({ write(c, _e, done) { f(String(c)); done(); } });
  const program = new Command("mosaicbert").exitOverride().configureOutput({ writeErr: () => {} });
  registerData(program, { stdout: sink((s) => (out += s)), stderr: sink((s) => (err += s)) });
  await program.parseAsync(["data", ...args], { from: "user" });
  return { out, err };
}

/** The golden's c4-like/SPLIT paragraphs as a C4-style .jsonl input file in `dir`. */
export function c4Input(dir: string, split = "val"): string {
  const f = path.join(dir, `${split}.jsonl`);
  const lines = fs.readFileSync(`${MDS_GOLDENS}c4-like/${split}/expected.jsonl`, "utf8").trimEnd().split("\n");
  fs.writeFileSync(f, lines.map((l) => JSON.stringify(JSON.parse(l).sample)).join("\n") + "\n");
  return f;
}
