import * as fs from "node:fs";
import * as path from "node:path";

/** Kernel filesystems where no one, root included, can create a save folder. */
const KERNEL_FS = ["/proc", "/sys"];

function under(p: string, root: string): boolean {
  return p === root || p.startsWith(root + "/");
}

/** The path with its longest existing prefix resolved through symlinks (the rest kept as written). */
function realPrefix(p: string): string {
  let existing = p;
  const rest: string[] = [];
  while (!fs.existsSync(existing)) {
    const parent = path.dirname(existing);
    if (parent === existing) break;
    rest.unshift(path.basename(existing));
    existing = parent;
  }
  try {
    return path.join(fs.realpathSync(existing), ...rest);
  } catch {
    return p;
  }
}

/**
 * Refuses a save folder under /proc or /sys before anything is created. /sys answers mkdir with
 * EPERM, but on Node 20 `mkdirSync(…, { recursive: true })` under /proc never returns (ENOENT from
 * a parent that exists sends it round again), so the trainer would hang instead of failing.
 * Symlinks into those trees are followed.
 */
export function checkSaveFolder(saveFolder: string): void {
  const abs = path.resolve(saveFolder);
  for (const p of new Set([abs, realPrefix(abs)])) {
    const root = KERNEL_FS.find((r) => under(p, r));
    if (root) {
      throw new Error(
        `save folder ${saveFolder}: ${p === abs ? "is" : `resolves to ${p},`} under ${root}, a kernel filesystem where folders cannot be created; expected a folder on a writable disk`,
      );
    }
  }
}

/** True when a process with this id exists (EPERM: it exists, it is just not ours to signal). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Removes the temp folders (`checkpoints/.tmp-<name>-<pid>`) that killed checkpoint writes left in a
 * save folder; returns their paths. Call it from rank 0 at start, before the first save. A temp folder
 * is removed when its writer is gone: its pid is not a live process, or is this process's own (which
 * is not writing yet; a restarted container can reuse the killed run's pid). A folder whose pid is a
 * live process is kept: it may be another run writing into the same folder by mistake, and deleting its
 * write in progress would turn that mistake into a failed save. (A stale folder whose pid was reused
 * by an unrelated process stays until a later start.)
 */
export function removeStaleTemps(saveFolder: string, log?: (msg: string) => void): string[] {
  const root = path.join(saveFolder, "checkpoints");
  if (!fs.existsSync(root)) return [];
  const removed: string[] = [];
  for (const ent of fs.readdirSync(root, { withFileTypes: true })) {
    // `.tmp-<name>-<pid>`: a checkpoint write; `.deleting-<name>-<pid>-<n>`: a prune or replacement.
    const m = /^\.tmp-.+-(\d+)$/.exec(ent.name) ?? /^\.deleting-.+-(\d+)-\d+$/.exec(ent.name);
    if (!m || !ent.isDirectory()) continue;
    const pid = Number(m[1]);
    if (pid !== process.pid && alive(pid)) continue;
    const dir = path.join(root, ent.name);
    fs.rmSync(dir, { recursive: true, force: true });
    removed.push(dir);
    log?.(`removed ${dir}: the temp folder of a checkpoint ${ent.name.startsWith(".tmp-") ? "write" : "removal"} by process ${pid}, which is gone`);
  }
  return removed;
}
