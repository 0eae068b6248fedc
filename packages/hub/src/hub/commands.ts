import { createProgressPrinter } from "./progress.js";
import { pullModel } from "./pull.js";
import { pushModel } from "./push.js";

/** `mosaicbert hub pull`: downloads a repo with progress bars on stderr, prints the folder on stdout. */
export async function hubPullCommand(repo: string, o: { revision?: string; to?: string; hubUrl?: string; token?: string }): Promise<string> {
  const bars = createProgressPrinter(process.stderr);
  const r = await pullModel(repo, { ...o, onProgress: (p) => bars.update(p.file, p.done, p.total, "pull") });
  bars.finish();
  process.stderr.write(`pulled ${repo}@${r.commit.slice(0, 12)}: ${r.files.length} files (${r.cached.length} from cache)\n`);
  process.stdout.write(`${r.dir}\n`);
  return r.dir;
}

/** `mosaicbert hub push`: uploads a folder with progress bars on stderr, prints the commit URL on stdout. */
export async function hubPushCommand(dir: string, repo: string, o: { private?: boolean; hubUrl?: string; token?: string }): Promise<string> {
  const bars = createProgressPrinter(process.stderr);
  const r = await pushModel(dir, repo, {
    ...o,
    onProgress: (p) => bars.update(p.file, p.done, p.total, p.phase === "hashing" ? "hash" : "push"),
    onCommit: () => { bars.finish(); process.stderr.write(`committing to ${repo}...\n`); },
  });
  process.stderr.write(`pushed ${r.files.length} files to ${repo} (commit ${r.commit.slice(0, 12)})\n`);
  process.stdout.write(`${r.commitUrl}\n`);
  return r.commitUrl;
}
