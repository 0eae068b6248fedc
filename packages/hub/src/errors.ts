import { capText, printable } from "./text.js";

/** Longest message part a FormatError keeps (the file and the field are capped separately). */
export const MAX_MESSAGE_CHARS = 1000;

/**
 * Raised on malformed or unsupported files: names the file, the field (tensor name, header key,
 * pickle opcode...) and what was expected, so a bad checkpoint is easy to locate. Whatever a hostile
 * file put into the field or message, the text is bounded and printable (no terminal escapes).
 */
export class FormatError extends Error {
  constructor(readonly file: string, readonly field: string, message: string) {
    super(`${printable(capText(file, 4096))}: ${printable(capText(field, 300))}: ${printable(capText(message, MAX_MESSAGE_CHARS))}`);
    this.name = "FormatError";
  }
}
