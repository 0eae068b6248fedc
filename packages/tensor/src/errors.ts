/** Raised by every op on bad input: names the op, the argument and what was expected. */
export class OpError extends Error {
  constructor(readonly op: string, readonly arg: string, message: string) {
    super(`${op}: ${arg}: ${message}`);
    this.name = "OpError";
  }
}

export function fmtShape(shape: readonly (number | string)[]): string {
  return `[${shape.join(", ")}]`;
}
