import { describe, expect, it } from "vitest";
import { encodeValue, getCodec, parsePyFloat, supportedEncodings } from "./encodings.js";

// Each codec against bytes written out by hand (little-endian, as numpy/struct write them in
// mosaicml-streaming), at the edges of its range, and its refusals.

const bytes = (enc: string, v: unknown) => Array.from(getCodec(enc).encode(v));
const back = (enc: string, b: number[]) => getCodec(enc).decode(Uint8Array.from(b));
const text = (enc: string, v: unknown) => new TextDecoder().decode(getCodec(enc).encode(v));

describe("MDS column encodings", () => {
  it("integers: little-endian two's complement, at both ends of every width", () => {
    const cases: Array<[string, bigint | number, number[]]> = [
      ["int8", -128, [0x80]],
      ["int8", 127, [0x7f]],
      ["uint8", 255, [0xff]],
      ["int16", -2, [0xfe, 0xff]],
      ["uint16", 0xabcd, [0xcd, 0xab]],
      ["int32", -2147483648, [0, 0, 0, 0x80]],
      ["uint32", 0x01020304, [4, 3, 2, 1]],
      ["int64", -1n, [255, 255, 255, 255, 255, 255, 255, 255]],
      ["int", (1n << 63n) - 1n, [255, 255, 255, 255, 255, 255, 255, 0x7f]],
      ["uint64", (1n << 64n) - 1n, [255, 255, 255, 255, 255, 255, 255, 255]],
      ["uint64", 258n, [2, 1, 0, 0, 0, 0, 0, 0]],
    ];
    for (const [enc, v, b] of cases) {
      expect(bytes(enc, v), `${enc} ${v}`).toEqual(b);
      expect(back(enc, b), `${enc} ${v}`).toEqual(enc.endsWith("64") || enc === "int" ? BigInt(v) : Number(v));
      expect(getCodec(enc).size).toBe(b.length);
    }
    expect(back("int8", [0xff])).toBe(-1);
    expect(back("uint16", [0xfe, 0xff])).toBe(65534);
    expect(back("int32", [0xff, 0xff, 0xff, 0xff])).toBe(-1);
    expect(back("uint32", [0xff, 0xff, 0xff, 0xff])).toBe(4294967295);
    expect(back("int64", [0, 0, 0, 0, 0, 0, 0, 0x80])).toBe(-(1n << 63n));
    // Integral numbers and integer text are accepted.
    expect(bytes("int16", "  -2 ")).toEqual([0xfe, 0xff]);
    expect(bytes("int16", 7)).toEqual([7, 0]);
  });

  it("integers out of range or not integral are refused, naming the type and its range", () => {
    expect(() => bytes("int8", 128)).toThrow("128 is out of range for int8 [-128, 127]");
    expect(() => bytes("int8", -129)).toThrow("-129 is out of range for int8 [-128, 127]");
    expect(() => bytes("uint8", -1)).toThrow("-1 is out of range for uint8 [0, 255]");
    expect(() => bytes("uint16", 65536)).toThrow("65536 is out of range for uint16 [0, 65535]");
    expect(() => bytes("int32", 2147483648)).toThrow("2147483648 is out of range for int32 [-2147483648, 2147483647]");
    expect(() => bytes("uint64", 1n << 64n)).toThrow("18446744073709551616 is out of range for uint64 [0, 18446744073709551615]");
    expect(() => bytes("int64", 1n << 63n)).toThrow("9223372036854775808 is out of range for int64 [-9223372036854775808, 9223372036854775807]");
    expect(() => bytes("int32", 1.5)).toThrow("expected an integer (int32), got number 1.5");
    expect(() => bytes("int32", "1e3")).toThrow('expected an integer (int32), got string "1e3"');
    expect(() => bytes("int", null)).toThrow("expected an integer (int64), got object null");
    // Decimal integer text is taken as numpy's int64("42") takes it (sign and surrounding spaces allowed).
    expect(bytes("int32", "42")).toEqual([42, 0, 0, 0]);
    expect(bytes("int16", " -7 ")).toEqual([0xf9, 0xff]);
    expect(bytes("uint8", "+5")).toEqual([5]);
    // What a refused value was, in the message: bytes by length, bigints with n, JSON cut to 40 characters, circular objects by type.
    expect(() => bytes("str", Uint8Array.of(1, 2, 3))).toThrow("expected a string, got Uint8Array(3)");
    expect(() => bytes("str", 5n)).toThrow("expected a string, got 5n");
    expect(() => bytes("int32", "x".repeat(60))).toThrow(`expected an integer (int32), got string "${"x".repeat(39)}`);
    expect(() => bytes("int32", "x".repeat(60))).not.toThrow("x".repeat(40));
    const loop: Record<string, unknown> = {};
    loop.self = loop;
    expect(() => bytes("int32", loop)).toThrow(/expected an integer \(int32\), got object$/);
    expect(() => bytes("str_decimal", ["1.5"])).toThrow(/expected decimal text/);
  });

  it("floats: IEEE little-endian; float16 rounds to half precision", () => {
    expect(bytes("float32", 1.5)).toEqual([0, 0, 0xc0, 0x3f]);
    expect(bytes("float64", -2)).toEqual([0, 0, 0, 0, 0, 0, 0, 0xc0]);
    expect(bytes("float16", 1)).toEqual([0x00, 0x3c]);
    expect(bytes("float16", -0.5)).toEqual([0x00, 0xb8]);
    expect(back("float16", [0x00, 0x3c])).toBe(1);
    expect(back("float32", [0, 0, 0xc0, 0x3f])).toBe(1.5);
    expect(back("float64", [0, 0, 0, 0, 0, 0, 0, 0xc0])).toBe(-2);
    expect(back("float32", Array.from(getCodec("float32").encode(0.1)))).toBe(Math.fround(0.1));
    expect([getCodec("float16").size, getCodec("float32").size, getCodec("float64").size]).toEqual([2, 4, 8]);
    expect(() => bytes("float32", "1.5")).toThrow('expected a number, got string "1.5"');
  });

  it("text encodings: str, str_int, str_float, str_decimal, json", () => {
    expect(text("str", "héllo")).toBe("héllo");
    expect(back("str", [0x68, 0xc3, 0xa9])).toBe("hé");
    expect(() => back("str", [0xc3])).toThrow();
    expect(() => bytes("str", 5)).toThrow("expected a string, got number 5");
    expect(getCodec("str").size).toBeNull();
    expect(text("str_int", 12)).toBe("12");
    expect(text("str_int", -3n)).toBe("-3");
    expect(back("str_int", [...new TextEncoder().encode(" -7 ")])).toBe(-7n);
    expect(() => back("str_int", [...new TextEncoder().encode("1.5")])).toThrow('str_int value is not an integer: "1.5"');
    expect(text("str_float", 0.1)).toBe("0.1");
    expect(text("str_float", 1e16)).toBe("1e+16");
    expect(text("str_float", -Infinity)).toBe("-inf");
    expect(() => bytes("str_float", "0.1")).toThrow('expected a number, got string "0.1"');
    expect(back("str_float", [...new TextEncoder().encode("2.5")])).toBe(2.5);
    expect(text("str_decimal", "1.2300")).toBe("1.2300");
    expect(text("str_decimal", "1E+5")).toBe("1E+5");
    expect(text("str_decimal", 5n)).toBe("5");
    expect(text("str_decimal", 1.5)).toBe("1.5");
    expect(() => bytes("str_decimal", "abc")).toThrow('expected decimal text like "1.2300" or "1E+5", got string "abc"');
    expect(() => bytes("str_decimal", true)).toThrow(/expected decimal text/);
    expect(back("str_decimal", [...new TextEncoder().encode("-sNaN")])).toBe("-sNaN");
    expect(() => back("str_decimal", [...new TextEncoder().encode("1.2.3")])).toThrow('str_decimal value is not a decimal: "1.2.3"');
    // Refusals name the encoding and cut a long value to 40 characters.
    expect(() => bytes("str_int", 1.5)).toThrow("expected an integer (str_int), got number 1.5");
    const long = [...new TextEncoder().encode("y".repeat(60))];
    expect(() => back("str_int", long)).toThrow(`str_int value is not an integer: "${"y".repeat(40)}"`);
    expect(() => back("str_decimal", long)).toThrow(`str_decimal value is not a decimal: "${"y".repeat(40)}"`);
    expect(text("json", { a: [1, 2], b: "x" })).toBe('{"a": [1, 2], "b": "x"}');
    expect(back("json", [...new TextEncoder().encode('{"a": [1, 2.5, null]}')])).toEqual({ a: [1, 2.5, null] });
  });

  it("parses Python float text, and nothing else", () => {
    expect([" inf", "+inf", "Infinity", "-inf", "-Infinity", "nan", "-nan", "+NaN"].map(parsePyFloat)).toEqual([Infinity, Infinity, Infinity, -Infinity, -Infinity, NaN, NaN, NaN]);
    expect(["1e5", ".5", "5.", "-0.25", "+3", "1E-2", ".125", "-.75e1"].map(parsePyFloat)).toEqual([100000, 0.5, 5, -0.25, 3, 0.01, 0.125, -7.5]);
    for (const bad of ["abc", "", "1e", "0x10", "1,5", "--1"]) expect(() => parsePyFloat(bad)).toThrow(`not a Python float: "${bad}"`);
  });

  it("bytes pass through; decoding copies; pkl is read-only", () => {
    const b = Uint8Array.from([1, 2, 3]);
    expect(getCodec("bytes").encode(b)).toBe(b);
    const d = getCodec("bytes").decode(b) as Uint8Array;
    expect(Array.from(d)).toEqual([1, 2, 3]);
    d[0] = 9;
    expect(b[0]).toBe(1);
    expect(() => getCodec("bytes").encode("abc")).toThrow('expected a Uint8Array, got string "abc"');
    expect(() => getCodec("pkl").encode({})).toThrow(/writing pkl values is not supported/);
    // Any codec stores a Uint8Array unchanged (the reference's quirk); other values go through the codec.
    expect(encodeValue(getCodec("int32"), b)).toBe(b);
    expect(Array.from(encodeValue(getCodec("int32"), 1))).toEqual([1, 0, 0, 0]);
  });

  it("names image and unknown encodings; ndarray sizes", () => {
    for (const e of ["jpeg", "png", "pil", "list[pil]", "jpeg_array"]) expect(() => getCodec(e)).toThrow(`image encoding "${e}" is not supported`);
    expect(() => getCodec("png")).toThrow(`image encoding "png" is not supported by this reader/writer (no image codecs); supported: bytes, str, int, int8,`);
    expect(() => getCodec("float128")).toThrow(/unknown column encoding "float128"; supported: bytes, str, int, .*ndarray\[:dtype\[:shape\]\]/);
    expect(() => getCodec("toString")).toThrow(/unknown column encoding "toString"/);
    expect(supportedEncodings()).toContain("str_decimal");
    expect(getCodec("ndarray:int32:2,3").size).toBe(24);
    expect(getCodec("ndarray:float64").size).toBeNull();
    expect(getCodec("ndarray").size).toBeNull();
  });
});
