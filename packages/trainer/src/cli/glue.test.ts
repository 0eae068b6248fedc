import { Command } from "commander";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { afterAll, describe, expect, it } from "vitest";
import { registerGlue } from "./glue.js";

const DATA = fileURLToPath(new URL("../../../../../shared/data/glue", import.meta.url));
const GOLDEN = fileURLToPath(new URL("../../../../../shared/data/golden/mosaic-tiny-cls3", import.meta.url));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "cli-glue-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function program(out: string[], err: string[]): Command {
  const p = new Command("mosaicbert").exitOverride().configureOutput({ writeErr: () => {} });
  registerGlue(p, { stdout: { write: (s: string) => out.push(s) }, stderr: { write: (s: string) => err.push(s), isTTY: false } });
  return p;
}

describe("mosaicbert glue", () => {
  it("runs the available tasks, reports the missing one, writes the table and the JSON", async () => {
    const out: string[] = [];
    const err: string[] = [];
    const dir = path.join(tmp, "run");
    await program(out, err).parseAsync(
      ["glue", "--preset", "tiny", "--data", DATA, "--tasks", "RTE,mnli", "--seeds", "1", "--device", "cpu", "--out", dir,
        "--max-train-examples", "16", "--max-eval-examples", "16", "--max-steps", "2", "--max-seq-len", "32", "--batch-size", "8"],
      { from: "user" },
    );
    const table = out.join("");
    expect(table).toMatch(/\| RTE \| \d+\.\d\d \|/);
    expect(table).toMatch(/\| MNLI \| – \|.*\*\*skipped\*\* \(missing\)/);
    expect(fs.readFileSync(path.join(dir, "glue-report.md"), "utf8")).toBe(table);
    const json = JSON.parse(fs.readFileSync(path.join(dir, "glue-report.json"), "utf8"));
    expect(json.tasks.map((t: { task: string; status: string }) => `${t.task}:${t.status}`)).toEqual(["mnli:skipped", "rte:ran"]);
    expect(json.tasks[1].hparams).toMatchObject({ lr: 1e-5, weightDecay: 1e-5, epochs: 3, batchSize: 8, maxSteps: 2, maxSeqLen: 32, seeds: [19] });
    expect(err.join("")).toMatch(/RTE seed 19 \(1\/1\) \[#+\] 2\/2/);
    expect(err.join("")).toMatch(/MNLI: skipped \(missing\)/);
  });

  it("rejects bad arguments with the flag and the expected form", async () => {
    const run = (args: string[]) => program([], []).parseAsync(["glue", "--data", DATA, ...args], { from: "user" });
    await expect(run(["--preset", "tiny", "--tasks", "sst2,wnli"])).rejects.toThrow(/--tasks: unknown task "wnli"; expected "all" or a comma list of mnli, qnli/);
    await expect(run(["--tasks", "sst2"])).rejects.toThrow(/give --model <dir> .* or --preset <name>/);
    await expect(run(["--preset", "tiny", "--seeds", "x"])).rejects.toThrow(/--seeds: expected a number of seeds/);
    await expect(run(["--preset", "tiny", "--max-steps", "0"])).rejects.toThrow(/--max-steps: expected a positive integer/);
    await expect(run(["--model", path.join(tmp, "none")])).rejects.toThrow(/--model: .*none is not a directory/);
    // The golden tiny classifier has a 2048-id vocabulary: bert-base-uncased ids would not fit.
    await expect(run(["--model", GOLDEN, "--tasks", "rte", "--device", "cpu"])).rejects.toThrow(/tokenizer bert-base-uncased has 30522 ids but the model's vocab_size is 2048/);
  });
});
