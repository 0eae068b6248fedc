import type { Arbitrary } from "fast-check";

/** One parser under fuzz: how inputs are generated, how one is parsed, and what its errors must name. */
export interface FuzzTarget<T> {
  name: string;
  arbitrary: Arbitrary<T>;
  /** The file or source name the parser was given for this input; every error must contain it. */
  source(input: T): string;
  /** Optional pattern a refusal must also match (the field). */
  field?: RegExp;
  /** Parses the input; a returned value is then checked by `check`. */
  run(input: T): unknown;
  /** Throws if an accepted result is not valid. */
  check?(result: any, input: T): void;
  describe?(input: T): string;
}
