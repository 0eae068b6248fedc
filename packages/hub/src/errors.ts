/**
 * Raised on malformed or unsupported files: names the file, the field (tensor name, header key,
 * pickle opcode...) and what was expected, so a bad checkpoint is easy to locate.
 */
export class FormatError extends Error {
  constructor(readonly file: string, readonly field: string, message: string) {
    super(`${file}: ${field}: ${message}`);
    this.name = "FormatError";
  }
}
