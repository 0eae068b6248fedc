import fs from "node:fs";
import { describe, expect, it } from "vitest";
import { defaultRng } from "./numpy-rng.js";

// Outputs recorded from NumPy itself by fixtures/make-numpy-rng.py.
const fixture = JSON.parse(fs.readFileSync(new URL("./fixtures/numpy-rng.json", import.meta.url), "utf8"));

describe("numpy default_rng port", () => {
  for (const c of fixture.cases) {
    it(`seed ${c.seed}: same stream as NumPy ${fixture.numpy}`, () => {
      let g = defaultRng(BigInt(c.seed));
      expect([0, 1, 2, 3].map(() => g.bitgen.nextUint64().toString())).toEqual(c.raw64);
      g = defaultRng(BigInt(c.seed));
      expect(g.integers(0, 10, 6)).toEqual(c.integers_0_10);
      expect([0, 1, 2].map(() => g.integer(196608, 327680))).toEqual(c.integers_scalar);
      expect([0, 1, 2].map(() => g.integer(3, 2 ** 40))).toEqual(c.integers_big);
      expect([...g.uniform(-2.5, 3.25, 4)]).toEqual(c.uniform);
      const list = Array.from({ length: 25 }, (_, i) => i);
      g.shuffle(list);
      expect(list).toEqual(c.shuffle_list25);
      const arr = Array.from({ length: 300 }, (_, i) => i);
      g.shuffle(arr);
      expect(arr).toEqual(c.shuffle_arr300);
      expect([...g.permutation(40)]).toEqual(c.permutation40);
      expect(g.choiceNoReplace(50, 7)).toEqual(c.choice_50_7);
      expect(g.choiceNoReplace(20000, 500)).toEqual(c.choice_20000_500);
      expect(g.integers(0, 1000, 3)).toEqual(c.after);
    });
  }
});
