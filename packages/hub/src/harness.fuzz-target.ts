// Deliberately broken "parsers" that the fuzz harness must catch: proves the property, the deadline
// and the heap limit can fail (scripts/fuzz/ is used by every *.fuzz.test.ts).
import fc from "fast-check";
import type { FuzzTarget } from "../../../scripts/fuzz/target.d.mts";

const SOURCE = "fuzz/harness.bin";
const arbitrary = fc.uint8Array({ minLength: 1, maxLength: 16 });

/** Reads a field without a bounds check: a TypeError escapes on short inputs. */
export const unchecked: FuzzTarget<Uint8Array> = {
  name: "unchecked access",
  arbitrary,
  source: () => SOURCE,
  run: (b) => (b.length < 4 ? (undefined as unknown as { x: number }).x : b[0]),
};

/** Refuses with a message that does not say which file. */
export const anonymous: FuzzTarget<Uint8Array> = {
  name: "anonymous error",
  arbitrary,
  source: () => SOURCE,
  run: (b) => {
    if (b[0]! > 128) throw new Error("bad magic");
    return b[0];
  },
};

/** Spins forever on some inputs. */
export const spins: FuzzTarget<Uint8Array> = {
  name: "infinite loop",
  arbitrary,
  source: () => SOURCE,
  run: (b) => {
    let i = 0;
    while (b[0]! > 200) i++;
    return i;
  },
};

/** Trusts a length field and grows the heap until it runs out. */
export const hoards: FuzzTarget<Uint8Array> = {
  name: "trusts a length field",
  arbitrary,
  source: () => SOURCE,
  run: (b) => {
    const keep: number[][] = [];
    const n = b[0]! > 100 ? Number.MAX_SAFE_INTEGER : 1;
    for (let i = 0; i < n; i++) keep.push(new Array(1_000_000).fill(i));
    return keep.length;
  },
};

/** A correct parser: refuses with the file and the field. */
export const careful: FuzzTarget<Uint8Array> = {
  name: "careful",
  arbitrary,
  source: () => SOURCE,
  field: /magic/,
  run: (b) => {
    if (b[0]! > 128) throw new Error(`${SOURCE}: magic: expected a byte <= 128, got ${b[0]}`);
    return b[0];
  },
};
