import { createProgressPrinter } from "./progress.js";
import { pullModel } from "./pull.js";
import type { HubLimits } from "./listing.js";
import { pushModel } from "./push.js";

/** Where a command writes: results on stdout, progress and notes on stderr (injectable for tests). */
export interface CommandIO {
  stdout: { write(s: string): unknown };
  stderr: NodeJS.WriteStream | { write(s: string): unknown; isTTY?: boolean };
}

const defaultIO = (): CommandIO => ({ stdout: process.stdout, stderr: process.stderr });

/** `mosaicbert hub pull`: downloads a repo with progress bars on stderr, prints the folder on stdout. */
export async function hubPullCommand(
  repo: string,
  o: { revision?: string; to?: string; hubUrl?: string; token?: string; cacheDir?: string; limits?: HubLimits },
  io: CommandIO = defaultIO(),
): Promise<string> {
  const bars = createProgressPrinter(io.stderr as NodeJS.WriteStream);
  const r = await pullModel(repo, { ...o, onProgress: (p) => bars.update(p.file, p.done, p.total, "pull") });
  bars.finish();
  io.stderr.write(`pulled ${repo}@${r.commit.slice(0, 12)}: ${r.files.length} files (${r.cached.length} from cache)\n`);
  io.stdout.write(`${r.dir}\n`);
  return r.dir;
}

/** `mosaicbert hub push`: uploads a folder with progress bars on stderr, prints the commit URL on stdout. */
export async function hubPushCommand(
  dir: string,
  repo: string,
  o: { private?: boolean; hubUrl?: string; token?: string; message?: string },
  io: CommandIO = defaultIO(),
): Promise<string> {
  const bars = createProgressPrinter(io.stderr as NodeJS.WriteStream);
  const r = await pushModel(dir, repo, {
    private: o.private,
    hubUrl: o.hubUrl,
    token: o.token,
    commitMessage: o.message,
    onProgress: (p) => bars.update(p.file, p.done, p.total, p.phase === "hashing" ? "hash" : "push"),
    onCommit: () => {
      bars.finish();
      io.stderr.write(`committing to ${repo}...\n`);
    },
  });
  io.stderr.write(`pushed ${r.files.length} files to ${repo} (commit ${r.commit.slice(0, 12)})\n`);
  io.stdout.write(`${r.commitUrl}\n`);
  return r.commitUrl;
}
