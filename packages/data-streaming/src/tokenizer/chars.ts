import { HF_CLASS_RANGES } from "./hf-unicode.js";

/**
 * Character classes used by BERT's normalizer and pre-tokenizer, with the exact definitions of Hugging Face
 * `tokenizers` (BertNormalizer, BertPreTokenizer), including its older Unicode tables: where those differ from
 * Node's, the generated hf-unicode.ts (scripts/gen-hf-unicode.ts) says what HF does. Classes of BMP code points are
 * cached in a table filled on first sight, so the hot loops never run a regular expression twice for the same
 * character.
 */

export const CONTROL = 1; // removed by clean_text: Unicode category Cc, Cf, Co (and lone surrogates), except \t \n \r
export const WHITESPACE = 2; // mapped to " " by clean_text: Rust char::is_whitespace, plus \t \n \r
export const PUNCT = 4; // isolated by the pre-tokenizer: ASCII punctuation, or Unicode category P*
export const CHINESE = 8; // surrounded by spaces: the CJK ideograph blocks BERT lists
export const MARK = 16; // removed by strip_accents after NFD: Unicode category Mn
export const NFD_KEEP = 32; // HF's NFD neither decomposes it nor reorders marks across it (Node's newer NFD would)
const COMPUTED = 128;

// Not \p{C}: that includes Cn, and HF keeps unassigned code points (a word holding one becomes [UNK]).
const reOther = /^[\p{Cc}\p{Cf}\p{Co}\p{Cs}]$/u;
const rePunct = /^\p{P}$/u;
const reMark = /^\p{Mn}$/u;

/** Rust's `char::is_whitespace` (the White_Space property), which differs from JS `\s` (U+FEFF, U+180E). */
function isRustWhitespace(cp: number): boolean {
  return (
    (cp >= 0x09 && cp <= 0x0d) ||
    cp === 0x20 ||
    cp === 0x85 ||
    cp === 0xa0 ||
    cp === 0x1680 ||
    (cp >= 0x2000 && cp <= 0x200a) ||
    cp === 0x2028 ||
    cp === 0x2029 ||
    cp === 0x202f ||
    cp === 0x205f ||
    cp === 0x3000
  );
}

/** ASCII punctuation as Rust's `is_ascii_punctuation` defines it (BERT counts `$ + < = > ^ \` | ~` too). */
function isAsciiPunct(cp: number): boolean {
  return (cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126);
}

/**
 * HF `tokenizers`' `is_chinese_char` (Rust). Its Extension E range starts at U+2B920, where Python BERT's starts
 * at U+2B820: U+2B820..U+2B91F are not padded here, as in HF's fast tokenizer.
 */
export function isChineseChar(cp: number): boolean {
  return (
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x20000 && cp <= 0x2a6df) ||
    (cp >= 0x2a700 && cp <= 0x2b73f) ||
    (cp >= 0x2b740 && cp <= 0x2b81f) ||
    (cp >= 0x2b920 && cp <= 0x2ceaf) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0x2f800 && cp <= 0x2fa1f)
  );
}

/**
 * The classes as Node's own Unicode tables (\p{…}) give them. HF's Rust crates use older Unicode tables, so
 * newer characters differ; `classify` corrects those with the generated HF_CLASS_RANGES.
 */
export function unicodeClass(cp: number): number {
  const s = String.fromCodePoint(cp);
  let c = 0;
  if (cp !== 9 && cp !== 10 && cp !== 13 && reOther.test(s)) c |= CONTROL;
  if (isRustWhitespace(cp)) c |= WHITESPACE;
  if (isAsciiPunct(cp) || rePunct.test(s)) c |= PUNCT;
  if (isChineseChar(cp)) c |= CHINESE;
  if (reMark.test(s)) c |= MARK;
  return c;
}

/** HF's classes where they differ from unicodeClass (binary search over the generated ranges), else -1. */
function hfOverride(cp: number): number {
  const r = HF_CLASS_RANGES;
  let lo = 0;
  let hi = r.length / 3 - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (cp < r[mid * 3]!) hi = mid - 1;
    else if (cp > r[mid * 3 + 1]!) lo = mid + 1;
    else return r[mid * 3 + 2]!;
  }
  return -1;
}

/** The classes of `cp` as Hugging Face `tokenizers` sees it. */
export function classify(cp: number): number {
  const hf = hfOverride(cp);
  return hf >= 0 ? hf : unicodeClass(cp);
}

const bmp = new Uint8Array(0x10000);
const astral = new Map<number, number>();

function classOf(cp: number): number {
  if (cp < 0x10000) {
    let c = bmp[cp]!;
    if (c === 0) bmp[cp] = c = COMPUTED | classify(cp);
    return c;
  }
  let c = astral.get(cp);
  if (c === undefined) astral.set(cp, (c = COMPUTED | classify(cp)));
  return c;
}

export function isControl(cp: number): boolean {
  return (classOf(cp) & CONTROL) !== 0;
}
export function isWhitespace(cp: number): boolean {
  return (classOf(cp) & WHITESPACE) !== 0;
}
export function isPunctuation(cp: number): boolean {
  return (classOf(cp) & PUNCT) !== 0;
}
/** Nonspacing mark (as HF's tables have it): strip_accents removes it after NFD. */
export function isMark(cp: number): boolean {
  return (classOf(cp) & MARK) !== 0;
}
/** True where HF's NFD leaves the character alone and reorders no mark across it, though Node's would. */
export function isNfdKept(cp: number): boolean {
  return (classOf(cp) & NFD_KEEP) !== 0;
}
/** True for code points that clean_text or handle_chinese_chars change (drop, map to space, or pad). */
export function needsCleaning(cp: number): boolean {
  return (classOf(cp) & (CONTROL | WHITESPACE | CHINESE)) !== 0 || cp === 0 || cp === 0xfffd;
}
