import { existsSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { GlueDataError } from "./errors.js";
import { loadJsonlSplit } from "./load-jsonl.js";
import { loadParquetSplit } from "./load-parquet.js";
import { loadTsvSplit } from "./load-tsv.js";
import type { LoadOptions, LoadedSplit, SplitFormat } from "./split.js";
import type { TaskSpec } from "./tasks.js";

/**
 * How complete one split's file is against the official GLUE size; "invalid" = the file exists but
 * has a malformed row (the note holds the error, with file and line).
 */
export type SplitStatus = "complete" | "partial" | "missing" | "invalid";

export interface SplitData {
  /** "train", or the Hugging Face eval split name. */
  split: string;
  status: SplitStatus;
  officialRows: number;
  /** Present unless missing. */
  data?: LoadedSplit;
  /** Why it is partial or missing, in words. */
  note?: string;
}

export interface TaskData {
  task: TaskSpec;
  /** The task folder found under the data directory, if any. */
  dir?: string;
  train: SplitData;
  evals: SplitData[];
  /** Training needs the train split, at least one eval split, and no invalid file. */
  runnable: boolean;
  /** The worst split status: invalid, then missing, then partial, else complete. */
  status: SplitStatus;
  /** Files in the task folder that were not recognised (e.g. the MNLI TextFooler samples). */
  unused: string[];
}

/**
 * Finds a task's folder under `dataDir` — the GLUE name ("SST-2") or the Hugging Face name ("sst2"),
 * any case — and loads its train and eval splits from the first file that exists, in this order:
 * GLUE TSV (`train.tsv`, `dev.tsv`, `dev_matched.tsv`, or `*.partial.tsv`), Hugging Face jsonl
 * (`train.jsonl`, `validation.jsonl`, `validation_matched.jsonl`), Hugging Face parquet
 * (`train.parquet` or shards `train-00000-of-00001.parquet`). A split with fewer rows than the official
 * GLUE size (or a `.partial.` file name) is "partial"; one with no file is "missing"; one with a
 * malformed row is "invalid", its note the error naming file and line (unless LoadOptions.onMalformed
 * is "skip"). Nothing here throws for bad task files — the caller reports per task; only a data
 * directory that does not exist throws.
 */
export async function loadTaskData(dataDir: string, task: TaskSpec, opts?: LoadOptions): Promise<TaskData> {
  if (!existsSync(dataDir) || !statSync(dataDir).isDirectory()) {
    throw new GlueDataError(`--data: ${dataDir} is not a directory; expected a folder holding one subfolder per GLUE task (SST-2/, CoLA/, … or sst2/, cola/, …)`, dataDir);
  }
  const wanted = [task.displayName.toLowerCase(), task.name];
  const dirName = readdirSync(dataDir).find((n) => wanted.includes(n.toLowerCase()) && statSync(join(dataDir, n)).isDirectory());
  const dir = dirName === undefined ? undefined : join(dataDir, dirName);
  const files = dir ? readdirSync(dir) : [];
  const used = new Set<string>();

  const load = async (split: string, tsvName: string, officialRows: number): Promise<SplitData> => {
    const found = findSplitFiles(files, split, tsvName);
    if (!found) {
      const where = dir ?? `${dataDir}/${task.displayName}`;
      return { split, status: "missing", officialRows, note: `no ${tsvName}.tsv, ${split}.jsonl or ${split}*.parquet in ${where}` };
    }
    found.names.forEach((n) => used.add(n));
    const parts: LoadedSplit[] = [];
    try {
      for (const name of found.names) {
        const file = join(dir!, name);
        if (found.format === "tsv") parts.push(loadTsvSplit(task, file, opts));
        else if (found.format === "jsonl") parts.push(loadJsonlSplit(task, file, opts));
        else parts.push(await loadParquetSplit(task, file, opts));
      }
    } catch (err) {
      if (!(err instanceof GlueDataError)) throw err;
      return { split, status: "invalid", officialRows, note: err.message };
    }
    const data: LoadedSplit =
      parts.length === 1
        ? parts[0]!
        : {
            file: parts.map((p) => p.file).join(", "),
            format: found.format,
            examples: parts.flatMap((p) => p.examples),
            skipped: parts.flatMap((p) => p.skipped),
          };
    const n = data.examples.length + data.skipped.length;
    const namedPartial = found.names.some((x) => x.includes(".partial."));
    if (n < officialRows || namedPartial) {
      return { split, status: "partial", officialRows, data, note: `${n} of ${officialRows} rows (${found.names.join(", ")})` };
    }
    return { split, status: "complete", officialRows, data };
  };

  const train = await load("train", task.train.tsvName, task.train.officialRows);
  const evals: SplitData[] = [];
  for (const e of task.evals) evals.push(await load(e.split, e.tsvName, e.officialRows));
  const all = [train, ...evals];
  const usable = (s: SplitData): boolean => s.status === "complete" || s.status === "partial";
  const runnable = usable(train) && evals.some(usable) && !all.some((s) => s.status === "invalid");
  const order: SplitStatus[] = ["invalid", "missing", "partial", "complete"];
  const status = order.find((st) => all.some((s) => s.status === st)) ?? "complete";
  const unused = files.filter((f) => !used.has(f) && /\.(tsv|jsonl|parquet)$/.test(f) && !/^test[.-]/.test(f));
  return { task, dir, train, evals, runnable, status, unused };
}

/** The file(s) holding one split, in preference order: TSV, jsonl, parquet (shards sorted). */
export function findSplitFiles(files: readonly string[], split: string, tsvName: string): { format: SplitFormat; names: string[] } | undefined {
  for (const name of [`${tsvName}.tsv`, `${tsvName}.partial.tsv`]) if (files.includes(name)) return { format: "tsv", names: [name] };
  for (const name of [`${split}.jsonl`, `${split}.partial.jsonl`]) if (files.includes(name)) return { format: "jsonl", names: [name] };
  const shard = new RegExp(`^${split}(-\\d+-of-\\d+)?(\\.partial)?\\.parquet$`);
  const parquet = files.filter((f) => shard.test(f)).sort();
  if (parquet.length) return { format: "parquet", names: parquet };
  return undefined;
}
