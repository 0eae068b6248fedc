import { isChineseChar, isControl, isMark, isNfdKept, isWhitespace } from "./chars.js";
import { HF_REORDERABLE } from "./hf-unicode.js";

const CAPITAL_SIGMA = "\u03a3";

/**
 * Characters that strip_accents keeps and that NFD's canonical reordering could move relative to each other
 * (non-zero combining class in HF's NFD tables; generated). Text holding one is normalized as a whole;
 * everything else character by character.
 */
const REORDERABLE = new Set(HF_REORDERABLE);

/**
 * NFD as HF's tables have it: Node's, except that characters HF's (older) tables do not know are neither
 * decomposed nor reordered across (they are starters to HF), so the text is decomposed piecewise around them.
 */
function nfd(s: string): string {
  let out = "";
  let from = 0;
  for (let i = 0; i < s.length; i++) {
    const cp = s.codePointAt(i)!;
    const w = cp > 0xffff ? 2 : 1;
    if (isNfdKept(cp)) {
      out += s.slice(from, i).normalize("NFD") + s.slice(i, i + w);
      from = i + w;
    }
    i += w - 1;
  }
  return from === 0 ? s.normalize("NFD") : out + s.slice(from).normalize("NFD");
}

/** strip_accents: NFD, then drop the nonspacing marks (Mn as HF's tables have it). */
function stripAccents(s: string): string {
  const d = nfd(s);
  let out = "";
  for (const ch of d) if (!isMark(ch.codePointAt(0)!)) out += ch;
  return out;
}

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
  if (o.stripAccents) s = stripAccents(s);
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
  if (o.stripAccents) out = stripAccents(out);
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
