import * as fs from "node:fs";
import { FormatError } from "./errors.js";

/** A whole file's bytes, or a FormatError naming the file ("file: cannot read: <reason>"). */
export function readFileBytes(file: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (e) {
    throw new FormatError(file, "file", `cannot read: ${(e as Error).message}`);
  }
}
