/**
 * Character classes used by BERT's normalizer and pre-tokenizer, with the exact definitions of Hugging Face
 * `tokenizers` (BertNormalizer, BertPreTokenizer). Classes of BMP code points are cached in a table filled on
 * first sight, so the hot loops never run a regular expression twice for the same character.
 */

const CONTROL = 1; // removed by clean_text: Unicode category C*, except \t \n \r
const WHITESPACE = 2; // mapped to " " by clean_text: Rust char::is_whitespace, plus \t \n \r
const PUNCT = 4; // isolated by the pre-tokenizer: ASCII punctuation, or Unicode category P*
const CHINESE = 8; // surrounded by spaces: the CJK ideograph blocks BERT lists
const COMPUTED = 128;

const reOther = /^\p{C}$/u;
const rePunct = /^\p{P}$/u;

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

export function isChineseChar(cp: number): boolean {
  return (
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x20000 && cp <= 0x2a6df) ||
    (cp >= 0x2a700 && cp <= 0x2b73f) ||
    (cp >= 0x2b740 && cp <= 0x2b81f) ||
    (cp >= 0x2b820 && cp <= 0x2ceaf) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0x2f800 && cp <= 0x2fa1f)
  );
}

function classify(cp: number): number {
  const s = String.fromCodePoint(cp);
  let c = COMPUTED;
  if (cp !== 9 && cp !== 10 && cp !== 13 && reOther.test(s)) c |= CONTROL;
  if (isRustWhitespace(cp)) c |= WHITESPACE;
  if (isAsciiPunct(cp) || rePunct.test(s)) c |= PUNCT;
  if (isChineseChar(cp)) c |= CHINESE;
  return c;
}

const bmp = new Uint8Array(0x10000);
const astral = new Map<number, number>();

function classOf(cp: number): number {
  if (cp < 0x10000) {
    let c = bmp[cp]!;
    if (c === 0) bmp[cp] = c = classify(cp);
    return c;
  }
  let c = astral.get(cp);
  if (c === undefined) astral.set(cp, (c = classify(cp)));
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
/** True for code points that clean_text or handle_chinese_chars change (drop, map to space, or pad). */
export function needsCleaning(cp: number): boolean {
  return (classOf(cp) & (CONTROL | WHITESPACE | CHINESE)) !== 0 || cp === 0 || cp === 0xfffd;
}
