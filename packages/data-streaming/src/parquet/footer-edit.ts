/**
 * Test support (not exported by the package): a parquet file with its footer replaced, the thrift written by
 * hyparquet-writer (a devDependency) — how the tests and the fuzzer make files that lie in their metadata.
 */
import type { FileMetaData } from "hyparquet";
import { ByteWriter } from "hyparquet-writer";
import { writeMetadata } from "hyparquet-writer/src/metadata.js";

/** `file` with `meta` as its footer; throws what the writer throws for metadata it cannot encode. */
export function replaceFooter(file: Uint8Array, meta: FileMetaData): Uint8Array {
  const w = new ByteWriter();
  writeMetadata(w, meta);
  const foot = new Uint8Array(w.getBuffer());
  const body = file.length - 8 - new DataView(file.buffer, file.byteOffset, file.byteLength).getUint32(file.length - 8, true);
  const out = new Uint8Array(body + foot.length + 8);
  out.set(file.subarray(0, body), 0);
  out.set(foot, body);
  new DataView(out.buffer).setUint32(out.length - 8, foot.length, true);
  out.set([0x50, 0x41, 0x52, 0x31], out.length - 4);
  return out;
}
