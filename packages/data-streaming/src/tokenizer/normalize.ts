import { isChineseChar, isControl, isWhitespace } from "./chars.js";

const reMarkNonspacing = /\p{Mn}/gu;
const CAPITAL_SIGMA = "\u03a3";

/**
 * Spacing (Mc) and enclosing (Me) marks with a non-zero canonical combining class (Unicode 14): the only
 * characters that NFD's canonical reordering could move relative to each other once the Mn marks are gone.
 * Text holding one is normalized as a whole; everything else character by character.
 */
const REORDERABLE = new Set([
  0x1715, 0x1734, 0x1b44, 0x1baa, 0x1bf2, 0x1bf3, 0x302e, 0x302f, 0xa953, 0xa9c0, 0x111c0, 0x11235, 0x1134d, 0x116b6,
  0x1193d, 0x16ff0, 0x16ff1, 0x1d165, 0x1d166, 0x1d16d, 0x1d16e, 0x1d16f, 0x1d170, 0x1d171, 0x1d172,
]);

/** Lower-cases each character alone, as Rust does: Σ always becomes σ (JS applies the final-sigma rule). */
function lowerPerChar(s: string): string {
  if (!s.includes(CAPITAL_SIGMA)) return s.toLowerCase();
  let out = "";
  for (const ch of s) out += ch.toLowerCase();
  return out;
}

/** What one non-ASCII character becomes: dropped, " ", or NFD without Mn marks, lower-cased, CJK padded. */
function transform(cp: number): string {
  if (cp === 0 || cp === 0xfffd || isControl(cp)) return "";
  if (isWhitespace(cp)) return " ";
  reMarkNonspacing.lastIndex = 0;
  const s = lowerPerChar(String.fromCodePoint(cp).normalize("NFD").replace(reMarkNonspacing, ""));
  return isChineseChar(cp) ? ` ${s} ` : s;
}

const cache = new Map<number, string>();

/** The reference order of HF's BertNormalizer, on the whole string (exported for tests). */
export function normalizeWhole(text: string): string {
  let out = "";
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    if (cp === 0 || cp === 0xfffd || isControl(cp)) continue;
    if (isWhitespace(cp)) out += " ";
    else if (isChineseChar(cp)) out += ` ${ch} `;
    else out += ch;
  }
  reMarkNonspacing.lastIndex = 0;
  return lowerPerChar(out.normalize("NFD").replace(reMarkNonspacing, ""));
}

/**
 * Hugging Face `BertNormalizer` with bert-base-uncased settings, steps in its order: clean_text (drop NUL,
 * U+FFFD and C* controls except \t\n\r; map whitespace to " "), handle_chinese_chars (pad CJK ideographs with
 * spaces), strip_accents (NFD, then drop Mn marks), lowercase (per character).
 *
 * Every step acts on one character at a time except NFD's reordering of combining marks, which only matters
 * for the rare marks in REORDERABLE; so each non-ASCII character's result is computed once and cached, and
 * ASCII runs are lower-cased natively.
 */
export function bertNormalize(text: string): string {
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c < 32 || c >= 127) break;
    i++;
  }
  // Fast path: printable ASCII needs only lower-casing.
  if (i === n) return text.toLowerCase();

  let out = text.slice(0, i);
  let runStart = i;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c >= 32 && c < 127) {
      i++;
      continue;
    }
    const cp = text.codePointAt(i)!;
    if (REORDERABLE.has(cp)) return normalizeWhole(text);
    let t = cache.get(cp);
    if (t === undefined) cache.set(cp, (t = transform(cp)));
    out += text.slice(runStart, i) + t;
    i += cp > 0xffff ? 2 : 1;
    runStart = i;
  }
  out += text.slice(runStart);
  // Mapped characters are already lower case (and no Σ is left), so one native pass finishes the ASCII runs.
  return out.toLowerCase();
}
