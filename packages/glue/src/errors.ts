/** Bad GLUE data or arguments: the message names the file (and line or row) and the expected form. */
export class GlueDataError extends Error {
  override readonly name = "GlueDataError";
  constructor(
    message: string,
    /** The file at fault, when there is one. */
    readonly file?: string,
    /** 1-based line (TSV, jsonl) or row (parquet) number. */
    readonly line?: number,
  ) {
    super(message);
  }
}

/** "path:line: message" — the form editors and terminals link to. */
export function dataError(file: string, line: number | undefined, message: string): GlueDataError {
  const where = line === undefined ? file : `${file}:${line}`;
  return new GlueDataError(`${where}: ${message}`, file, line);
}
