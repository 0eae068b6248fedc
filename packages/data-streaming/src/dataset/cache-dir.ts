/**
 * The private cache folder a remote stream downloads into when no `local` is given:
 * `$XDG_CACHE_HOME/mosaicbert/mds/<hash of remote>` (else `~/.cache/…`), each folder of ours
 * created mode 0700 and checked with lstat — a symlink, a folder owned by someone else or one that
 * others may write to is refused, so on a shared machine no other user can plant shards in it or
 * redirect its writes (a predictable /tmp path allowed both).
 */
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

/** Where caches go: $XDG_CACHE_HOME when it is an absolute path (as the XDG spec says), else ~/.cache. */
export function cacheBase(): string {
  const xdg = process.env.XDG_CACHE_HOME;
  return xdg && path.isAbsolute(xdg) ? xdg : path.join(os.homedir(), ".cache");
}

/**
 * Creates `dir` (mode 0700) if missing, then checks what is there without following a symlink: a
 * directory, owned by this user, not writable by group or others. Throws naming the folder.
 */
export function ensurePrivateDir(dir: string): void {
  try {
    fs.mkdirSync(dir, { mode: 0o700 });
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw new Error(`cache folder ${dir}: cannot create it: ${(e as Error).message}`);
  }
  const st = fs.lstatSync(dir);
  const refuse = (why: string): never => {
    throw new Error(`cache folder ${dir}: ${why}; refusing to use it (remove it, or pass local: a folder of your own)`);
  };
  if (st.isSymbolicLink()) refuse("is a symbolic link");
  if (!st.isDirectory()) refuse("is not a directory");
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid) refuse(`is owned by user ${st.uid}, not by this user (${uid})`);
  if (process.platform !== "win32" && st.mode & 0o022) refuse(`can be written by ${st.mode & 0o002 ? "any user" : "its group"} (mode ${(st.mode & 0o777).toString(8)})`);
}

/** The private cache folder for `remote`, created and checked (see above). */
export function privateCacheDir(remote: string): string {
  const base = cacheBase();
  fs.mkdirSync(base, { recursive: true, mode: 0o700 });
  let dir = base;
  for (const part of ["mosaicbert", "mds", crypto.createHash("sha256").update(remote).digest("hex").slice(0, 16)]) {
    dir = path.join(dir, part);
    ensurePrivateDir(dir);
  }
  return dir;
}
