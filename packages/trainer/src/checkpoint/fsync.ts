import * as fs from "node:fs";
import * as path from "node:path";

/** Writes a small file atomically: temp file beside it, fsync, rename, fsync of the folder. */
export function writeFileDurable(file: string, content: string | Uint8Array): void {
  const dir = path.dirname(file);
  fs.mkdirSync(dir, { recursive: true });
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.tmp`);
  const fd = fs.openSync(tmp, "w");
  try {
    fs.writeFileSync(fd, content);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
  fsyncDir(dir);
}

/** Flushes a folder's entries (new names, renames) to disk. */
export function fsyncDir(dir: string): void {
  let fd: number | null = null;
  try {
    fd = fs.openSync(dir, "r");
    fs.fsyncSync(fd);
  } catch {
    // Some filesystems refuse fsync on folders; the rename is still atomic there.
  } finally {
    if (fd !== null) fs.closeSync(fd);
  }
}

/** fsyncs every regular file of a folder (the hub writer already fsyncs its files; this covers the rest). */
export function fsyncFiles(dir: string): void {
  for (const name of fs.readdirSync(dir)) {
    const f = path.join(dir, name);
    if (!fs.statSync(f).isFile()) continue;
    const fd = fs.openSync(f, "r");
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  }
  fsyncDir(dir);
}
