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

/**
 * The settings of Hugging Face's `BertNormalizer` (tokenizer.json `normalizer`, or a `tokenizer_config.json`'s
 * `do_lower_case` / `strip_accents` / `tokenize_chinese_chars`). bert-base-uncased: all true; bert-base-cased and
 * the multilingual cased models: `lowercase` and `stripAccents` false.
 */
export interface NormalizerOptions {
  /** Drop NUL, U+FFFD and control characters; map every whitespace character to " ". */
  readonly cleanText: boolean;
  /** Put spaces around CJK ideographs (each becomes a word). */
  readonly handleChineseChars: boolean;
  /** NFD, then drop the nonspacing marks (é → e). */
  readonly stripAccents: boolean;
  readonly lowercase: boolean;
}

export const UNCASED_NORMALIZER: NormalizerOptions = Object.freeze({ cleanText: true, handleChineseChars: true, stripAccents: true, lowercase: true });

/** What one non-ASCII character becomes: dropped, " ", or NFD without Mn marks, lower-cased, CJK padded (as set). */
function transform(cp: number, o: NormalizerOptions): string {
  if (o.cleanText && (cp === 0 || cp === 0xfffd || isControl(cp))) return "";
  if (o.cleanText && isWhitespace(cp)) return " ";
  let s = String.fromCodePoint(cp);
  if (o.stripAccents) {
    reMarkNonspacing.lastIndex = 0;
    s = s.normalize("NFD").replace(reMarkNonspacing, "");
  }
  if (o.lowercase) s = lowerPerChar(s);
  return o.handleChineseChars && isChineseChar(cp) ? ` ${s} ` : s;
}

/** Per settings (as a 4-bit key), what each non-ASCII character seen so far became. */
const caches = new Map<number, Map<number, string>>();
const keyOf = (o: NormalizerOptions) => (o.cleanText ? 1 : 0) | (o.handleChineseChars ? 2 : 0) | (o.stripAccents ? 4 : 0) | (o.lowercase ? 8 : 0);

/** The reference order of HF's BertNormalizer, on the whole string (exported for tests). */
export function normalizeWhole(text: string, o: NormalizerOptions = UNCASED_NORMALIZER): string {
  let out = "";
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    if (o.cleanText && (cp === 0 || cp === 0xfffd || isControl(cp))) continue;
    if (o.cleanText && isWhitespace(cp)) out += " ";
    else if (o.handleChineseChars && isChineseChar(cp)) out += ` ${ch} `;
    else out += ch;
  }
  if (o.stripAccents) {
    reMarkNonspacing.lastIndex = 0;
    out = out.normalize("NFD").replace(reMarkNonspacing, "");
  }
  return o.lowercase ? lowerPerChar(out) : out;
}

/**
 * Hugging Face `BertNormalizer`, bert-base-uncased's settings unless `o` says otherwise, steps in its order:
 * clean_text (drop NUL, U+FFFD and C* controls except \t\n\r; map whitespace to " "), handle_chinese_chars (pad
 * CJK ideographs with spaces), strip_accents (NFD, then drop Mn marks), lowercase (per character).
 *
 * Every step acts on one character at a time except NFD's reordering of combining marks, which only matters
 * for the rare marks in REORDERABLE; so each non-ASCII character's result is computed once and cached, and
 * ASCII runs are lower-cased natively.
 */
export function bertNormalize(text: string, o: NormalizerOptions = UNCASED_NORMALIZER): string {
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c < 32 || c >= 127) break;
    i++;
  }
  // Fast path: printable ASCII needs only lower-casing (or nothing).
  if (i === n) return o.lowercase ? text.toLowerCase() : text;
  let cache = caches.get(keyOf(o));
  if (!cache) caches.set(keyOf(o), (cache = new Map()));

  let out = text.slice(0, i);
  let runStart = i;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c >= 32 && c < 127) {
      i++;
      continue;
    }
    const cp = text.codePointAt(i)!;
    // ASCII controls (tab, newline, …) reach here too: the same per-character rule applies to them.
    if (o.stripAccents && REORDERABLE.has(cp)) return normalizeWhole(text, o);
    let t = cache.get(cp);
    if (t === undefined) cache.set(cp, (t = transform(cp, o)));
    out += text.slice(runStart, i) + t;
    i += cp > 0xffff ? 2 : 1;
    runStart = i;
  }
  out += text.slice(runStart);
  // Mapped characters are already lower case (and no Σ is left), so one native pass finishes the ASCII runs.
  return o.lowercase ? out.toLowerCase() : out;
}
