import { afterAll, describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { FormatError, readPytorchBin, readSafetensors, toFloat32 } from "./index.js";
import { hostileBins, hostileSafetensors } from "./testing/hostile.js";

// The hostile corpus (testing/hostile.ts) through the readers: every hostile file is refused with a
// FormatError naming the file and saying what is wrong, quickly and without allocating what it claims;
// every unusual-but-valid file loads with its content intact.
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "hub-hostile-"));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

const read = (kind: "bin" | "safetensors", file: string) => (kind === "bin" ? readPytorchBin(file) : readSafetensors(file));

const CORPUS = [...hostileBins(), ...hostileSafetensors()];

describe.each(CORPUS.filter((c) => c.refuse))("hostile $kind: $name", (c) => {
  it(`is refused: ${c.what}`, () => {
    const file = path.join(dir, `${c.name}.${c.kind}`);
    fs.writeFileSync(file, c.bytes);
    const rssBefore = process.memoryUsage().rss;
    let err: unknown;
    try {
      read(c.kind, file);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(FormatError);
    const msg = (err as Error).message;
    expect(msg.startsWith(`${file}: `), msg).toBe(true);
    expect(msg).toMatch(c.refuse!);
    expect(msg.length).toBeLessThan(1600);
    // Nothing near what the file claims (GiBs) was allocated.
    expect(process.memoryUsage().rss - rssBefore).toBeLessThan(512 * 2 ** 20);
  });
});

describe("unusual but valid weight files load intact", () => {
  const byName = (name: string, kind: string) => CORPUS.find((c) => c.name === name && c.kind === kind)!.bytes;

  it("a legacy view applies its storage offset in elements (was bytes: silently wrong weights)", () => {
    const t = readPytorchBin(byName("legacy-view-offset", "bin"));
    expect(Array.from(toFloat32(t.get("v")!))).toEqual([12, 13, 14]);
  });

  it("a 20,000-key dict with __proto__ and constructor keys", () => {
    const t = readPytorchBin(byName("many-keys", "bin"));
    expect([...t.keys()]).toEqual(["__proto__", "constructor"]);
    expect(Array.from(toFloat32(t.get("__proto__")!))).toEqual([5, 6]);
    expect(Array.from(toFloat32(t.get("constructor")!))).toEqual([6]);
  });

  it("safetensors tensors named __proto__ and constructor", () => {
    const t = readSafetensors(byName("proto-name", "safetensors"));
    expect([...t.keys()]).toEqual(["__proto__", "constructor"]);
    expect(Array.from(toFloat32(t.get("__proto__")!))).toEqual([7]);
    expect(Array.from(toFloat32(t.get("constructor")!))).toEqual([8]);
  });
});
