import * as fs from "node:fs";

/** Random-access bytes: a file read at offsets on demand, or a buffer already in memory. */
export interface ByteSource {
  readonly name: string;
  readonly size: number;
  read(offset: number, length: number): Uint8Array;
  close(): void;
}

export function bufferSource(bytes: Uint8Array, name = "<buffer>"): ByteSource {
  return {
    name,
    size: bytes.length,
    read: (offset, length) => bytes.subarray(offset, Math.min(bytes.length, offset + length)),
    close: () => {},
  };
}

/** Opens a file for positional reads so large checkpoints are never loaded whole. */
export function fileSource(path: string): ByteSource {
  const fd = fs.openSync(path, "r");
  const size = fs.fstatSync(fd).size;
  return {
    name: path,
    size,
    read(offset, length) {
      const n = Math.max(0, Math.min(length, size - offset));
      const out = new Uint8Array(n);
      let done = 0;
      while (done < n) {
        const got = fs.readSync(fd, out, done, n - done, offset + done);
        if (got === 0) return out.subarray(0, done);
        done += got;
      }
      return out;
    },
    close: () => fs.closeSync(fd),
  };
}
