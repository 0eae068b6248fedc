/**
 * Errors raised by the layers package. Each names what was wrong (the config field, the checkpoint
 * tensor, the batch field and row) so a user can fix the input without reading the code.
 */

/** A config.json field is invalid, unknown in strict mode, or contradicts another field. */
export class ConfigError extends Error {
  constructor(readonly field: string, message: string, readonly file?: string) {
    super(`${file ? `${file}: ` : ""}config field '${field}': ${message}`);
    this.name = "ConfigError";
  }
}

/** A checkpoint tensor is missing, unexpected, of the wrong shape, or contradicts the config. */
export class CheckpointError extends Error {
  constructor(readonly tensor: string, message: string, readonly file?: string) {
    super(`${file ? `${file}: ` : ""}tensor '${tensor}': ${message}`);
    this.name = "CheckpointError";
  }
}

/** A batch field is malformed (ragged, out of range, all padding ...). */
export class InputError extends Error {
  constructor(readonly field: string, readonly detail: string, readonly row?: number) {
    super(`${field}${row === undefined ? "" : ` (row ${row})`}: ${detail}`);
    this.name = "InputError";
  }
}
