import * as fs from "node:fs";
import * as path from "node:path";
import { type ModelCardOptions, renderModelCard } from "../folder/card.js";
import { modelFolderShapes } from "../folder/folder.js";
import { planUpload } from "../folder/publish.js";
import { parseRepoId } from "./env.js";
import { createProgressPrinter } from "./progress.js";
import { pullModel } from "./pull.js";
import { pullSelection } from "./select.js";
import type { HubLimits } from "./listing.js";
import { pushModel } from "./push.js";

/** Where a command writes: results on stdout, progress and notes on stderr (injectable for tests). */
export interface CommandIO {
  stdout: { write(s: string): unknown };
  stderr: NodeJS.WriteStream | { write(s: string): unknown; isTTY?: boolean };
}

const defaultIO = (): CommandIO => ({ stdout: process.stdout, stderr: process.stderr });

export interface HubPullCommandOptions {
  revision?: string;
  to?: string;
  hubUrl?: string;
  token?: string;
  cacheDir?: string;
  limits?: HubLimits;
  /** Fetch every file of the repo (default: only what the model-folder loader can use, see modelFileFilter). */
  all?: boolean;
  /** Globs of repo paths to fetch besides the default files (`*` within a segment, `**` across), e.g. "onnx/**". */
  include?: readonly string[];
}

/**
 * `mosaicbert hub pull`: downloads what the model-folder loader can use (config, tokenizer, one weights
 * format, remote code, model card; `all` for every file, `include` globs for more) with progress bars on
 * stderr, names what it skipped, and prints the folder on stdout.
 */
export async function hubPullCommand(repo: string, o: HubPullCommandOptions = {}, io: CommandIO = defaultIO()): Promise<string> {
  const { all, include, ...rest } = o;
  const select = pullSelection({ all, include });
  const bars = createProgressPrinter(io.stderr as NodeJS.WriteStream);
  const r = await pullModel(repo, { ...rest, select, onProgress: (p) => bars.update(p.file, p.done, p.total, "pull") });
  bars.finish();
  io.stderr.write(`pulled ${repo}@${r.commit.slice(0, 12)}: ${r.files.length} files (${r.cached.length} from cache)\n`);
  if (r.skipped.length > 0) {
    const shown = r.skipped.slice(0, 10).join(", ") + (r.skipped.length > 10 ? `, … (${r.skipped.length - 10} more)` : "");
    io.stderr.write(`skipped ${r.skipped.length} files the loader does not use: ${shown} (--all fetches every file, --include GLOB some)\n`);
  }
  io.stdout.write(`${r.dir}\n`);
  return r.dir;
}

export interface HubPushCommandOptions {
  private?: boolean;
  hubUrl?: string;
  token?: string;
  message?: string;
  /** List what would be published (and what stays local) without contacting the Hub. */
  dryRun?: boolean;
  /** Publish optimizer and trainer state too (left out by default). */
  includeTrainingState?: boolean;
  /** Facts for the generated model card (used when the folder has no README.md). */
  card?: Omit<ModelCardOptions, "config" | "repo">;
}

function size(n: number): string {
  return n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(1)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`;
}

/**
 * `mosaicbert hub push`: publishes a model folder (planUpload: config, weights, tokenizer, auto_map code; no
 * training state unless asked) with a generated README.md model card when the folder has none. Progress on
 * stderr, the commit URL on stdout; with dryRun, the list of what would go (stdout) and what stays (stderr).
 */
export async function hubPushCommand(dir: string, repo: string, o: HubPushCommandOptions = {}, io: CommandIO = defaultIO()): Promise<string> {
  parseRepoId(repo, { owner: true });
  const plan = planUpload(dir, { includeTrainingState: o.includeTrainingState });
  const extraFiles: Record<string, string> = {};
  if (!plan.files.includes("README.md")) {
    let parameters: number | undefined;
    try {
      parameters = [...modelFolderShapes(dir).values()].reduce((a, t) => a + t.shape.reduce((x, y) => x * y, 1), 0);
    } catch {
      parameters = undefined; // pytorch_model.bin: the card goes without a parameter count
    }
    extraFiles["README.md"] = renderModelCard({ parameters, ...o.card, config: plan.config, repo });
  }
  if (o.dryRun) {
    io.stdout.write(`would push to ${repo}:\n`);
    for (const f of plan.files) io.stdout.write(`  ${f} (${size(fs.statSync(path.join(dir, f)).size)})\n`);
    for (const [f, c] of Object.entries(extraFiles)) io.stdout.write(`  ${f} (generated model card, ${size(Buffer.byteLength(c))})\n`);
    for (const l of plan.leftOut) io.stderr.write(`left out: ${l.file}: ${l.reason}\n`);
    return "";
  }
  const bars = createProgressPrinter(io.stderr as NodeJS.WriteStream);
  const r = await pushModel(dir, repo, {
    private: o.private,
    hubUrl: o.hubUrl,
    token: o.token,
    commitMessage: o.message,
    files: plan.files,
    extraFiles,
    onProgress: (p) => bars.update(p.file, p.done, p.total, p.phase === "hashing" ? "hash" : "push"),
    onCommit: () => {
      bars.finish();
      io.stderr.write(`committing to ${repo}...\n`);
    },
  });
  for (const l of plan.leftOut) io.stderr.write(`left out: ${l.file}: ${l.reason}\n`);
  io.stderr.write(`pushed ${r.files.length} files to ${repo} (commit ${r.commit.slice(0, 12)})\n`);
  io.stdout.write(`${r.commitUrl}\n`);
  return r.commitUrl;
}
