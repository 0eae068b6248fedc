"""Asks Hugging Face `tokenizers` how its BERT normalizer and pre-tokenizer treat every code point.

Writes one JSON object to stdout (read by gen-hf-unicode.ts; not committed):
  tokenizers: the version probed
  classes:    [[first, last, bits], ...] runs of code points U+0000..U+10FFFF (surrogates skipped) with equal bits
  nfd:        {code point: NFD string} where NFD changes the character
  lower:      {code point: lower-cased string} where lower-casing changes it
  ccc:        [[first, last], ...] runs of code points that NFD leaves alone and treats as combining marks
              (canonical combining class not 0: NFD's canonical ordering moves them past each other)

bits (same values as src/tokenizer/chars.ts):
  1 CONTROL     clean_text drops it             (BertNormalizer clean_text only: "c" -> "")
  2 WHITESPACE  clean_text maps it to " " unless it is also CONTROL; BertPreTokenizer splits on it ("aXb" -> ["a", "b"])
  4 PUNCT       BertPreTokenizer isolates it    ("aXb" -> ["a", "X", "b"])
  8 CHINESE     handle_chinese_chars pads it    (handle_chinese_chars only: "c" -> " c ")
 16 MARK        strip_accents removes it        (strip_accents only: "c" -> "" ; NFD, then drop Mn)

Every answer comes from the Rust code itself, so the tables hold whatever Unicode version its crates were built with.
Run: /tmp/hfenv/bin/python packages/data-streaming/scripts/hf-unicode-probe.py > /tmp/hf-unicode.json
"""

import json
import sys

import tokenizers
from tokenizers import normalizers, pre_tokenizers

CONTROL, WHITESPACE, PUNCT, CHINESE, MARK = 1, 2, 4, 8, 16


def bert(clean=False, chinese=False, strip=False, lower=False):
    return normalizers.BertNormalizer(
        clean_text=clean, handle_chinese_chars=chinese, strip_accents=strip, lowercase=lower
    )


clean_only = bert(clean=True)
chinese_only = bert(chinese=True)
strip_only = bert(strip=True)
lower_only = normalizers.Lowercase()
nfd = normalizers.NFD()
pre = pre_tokenizers.BertPreTokenizer()


def bits_of(c: str) -> int:
    b = 0
    cleaned = clean_only.normalize_str(c)
    # clean_text also drops U+FFFD by its code (as chars.ts's callers do); CONTROL is about the category.
    if cleaned == "" and c != "\ufffd":
        b |= CONTROL
    words = [w for w, _ in pre.pre_tokenize_str("a" + c + "b")]
    if words == ["a", "b"]:
        b |= WHITESPACE  # Rust char::is_whitespace (controls such as U+000B are dropped by clean_text first)
    elif words == ["a", c, "b"]:
        b |= PUNCT
    else:
        assert words == ["a" + c + "b"], (hex(ord(c)), words)
    assert cleaned == ("" if b & CONTROL or c == "\ufffd" else " " if b & WHITESPACE else c), (hex(ord(c)), cleaned)
    padded = chinese_only.normalize_str(c)
    if padded == " " + c + " ":
        b |= CHINESE
    else:
        assert padded == c, (hex(ord(c)), padded)
    if strip_only.normalize_str(c) == "":
        b |= MARK
    return b


def combining(c: str) -> bool:
    # Canonical ordering swaps adjacent marks when the first has the higher, non-zero class: U+0334 has
    # class 1 and U+0345 class 240, so every class from 1 to 240 shows up against one of them.
    return nfd.normalize_str(c + "\u0334") != c + "\u0334" or nfd.normalize_str("\u0345" + c) != "\u0345" + c


runs = []
ccc_runs = []
nfd_map = {}
lower_map = {}
for cp in range(0x110000):
    if 0xD800 <= cp <= 0xDFFF:
        continue
    c = chr(cp)
    b = bits_of(c)
    if runs and runs[-1][2] == b and runs[-1][1] == cp - 1:
        runs[-1][1] = cp
    else:
        runs.append([cp, cp, b])
    d = nfd.normalize_str(c)
    if d != c:
        nfd_map[cp] = d
    elif combining(c):
        if ccc_runs and ccc_runs[-1][1] == cp - 1:
            ccc_runs[-1][1] = cp
        else:
            ccc_runs.append([cp, cp])
    lo = lower_only.normalize_str(c)
    if lo != c:
        lower_map[cp] = lo

json.dump({"tokenizers": tokenizers.__version__, "classes": runs, "nfd": nfd_map, "ccc": ccc_runs, "lower": lower_map}, sys.stdout, ensure_ascii=True)
