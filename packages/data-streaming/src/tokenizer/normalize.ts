import { isControl, isWhitespace, needsCleaning } from "./chars.js";

const reMarkNonspacing = /\p{Mn}/gu;
const CAPITAL_SIGMA = "\u03a3";

/**
 * Hugging Face `BertNormalizer` with bert-base-uncased settings, steps in its order: clean_text (drop NUL,
 * U+FFFD and C* controls except \t\n\r; map whitespace to " "), handle_chinese_chars (pad CJK ideographs with
 * spaces), strip_accents (NFD, then drop Mn marks), lowercase (per character).
 */
export function bertNormalize(text: string): string {
  const n = text.length;
  // Fast path: printable ASCII needs only lower-casing (no controls, no whitespace other than " ", no accents).
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c < 32 || c >= 127) break;
    i++;
  }
  if (i === n) return text.toLowerCase();

  let out = text.slice(0, i);
  let runStart = i;
  while (i < n) {
    const cp = text.codePointAt(i)!;
    const width = cp > 0xffff ? 2 : 1;
    if ((cp < 32 || cp >= 127) && needsCleaning(cp)) {
      out += text.slice(runStart, i);
      if (cp === 0 || cp === 0xfffd || isControl(cp)) {
        // dropped (lone surrogates are category Cs, dropped too)
      } else if (isWhitespace(cp)) {
        out += " ";
      } else {
        out += " " + String.fromCodePoint(cp) + " ";
      }
      runStart = i + width;
    }
    i += width;
  }
  out += text.slice(runStart);

  out = out.normalize("NFD");
  reMarkNonspacing.lastIndex = 0;
  out = out.replace(reMarkNonspacing, "");
  // Rust lowercases each char alone: Σ always becomes σ, whereas JS String#toLowerCase applies the
  // context-dependent final-sigma rule (ς). Only Σ has such a rule in the root locale.
  if (!out.includes(CAPITAL_SIGMA)) return out.toLowerCase();
  let lowered = "";
  for (const ch of out) lowered += ch.toLowerCase();
  return lowered;
}
