"""Hugging Face reference data for src/tokenizer/hf-unicode.test.ts.

Uses the fast tokenizer of `tokenizers` (Tokenizer.from_file on the shared bert-base-uncased tokenizer.json):
  1. writes src/tokenizer/fixtures/hf-sweep-w-c-a.txt: the ids of "w" + c + "a" for every code point c in
     U+0020..U+31FFF (surrogates skipped), [CLS]/[SEP] left out, run-length coded (see the file's header);
  2. prints the literal cases pasted into hf-unicode.test.ts (ids of single characters, normalized strings).

Run: /tmp/hfenv/bin/python packages/data-streaming/scripts/hf-sweep-golden.py [path/to/tokenizer.json]
"""

import os
import sys

import tokenizers
from tokenizers import Tokenizer, normalizers

here = os.path.dirname(os.path.abspath(__file__))
tokenizer_json = sys.argv[1] if len(sys.argv) > 1 else "/work/shared/data/vocab/bert-base-uncased-tokenizer.json"
tok = Tokenizer.from_file(tokenizer_json)
CLS, SEP = 101, 102

# 1. The sweep.
cps = [c for c in range(0x20, 0x32000) if not 0xD800 <= c <= 0xDFFF]
encs = tok.encode_batch(["w" + chr(c) + "a" for c in cps])
runs = []
for c, e in zip(cps, encs):
    ids = e.ids
    assert ids[0] == CLS and ids[-1] == SEP
    ids = ids[1:-1]
    if runs and runs[-1][2] == ids and runs[-1][1] == c - 1:
        runs[-1][1] = c
    else:
        runs.append([c, c, ids])
out = os.path.join(here, "..", "src", "tokenizer", "fixtures", "hf-sweep-w-c-a.txt")
with open(out, "w") as f:
    f.write(f'# Hugging Face tokenizers {tokenizers.__version__} (fast), bert-base-uncased tokenizer.json: ids of "w" + c + "a"\n')
    f.write("# for c = U+0020..U+31FFF (surrogates skipped), without [CLS]/[SEP]. Written by scripts/hf-sweep-golden.py.\n")
    f.write("# Each line: first code point (hex), optional +n for n more code points with the same ids, then the ids.\n")
    for a, b, ids in runs:
        f.write(f"{a:x}{'' if a == b else f' +{b - a}'} {' '.join(map(str, ids))}\n")
print(f"// {out}: {len(cps)} code points, {len(runs)} lines", file=sys.stderr)


def ts(s: str) -> str:
    """A TypeScript string literal, non-ASCII characters as \\u{…} escapes."""
    body = "".join(c if 0x20 <= ord(c) < 0x7F and c not in '"\\' else f"\\u{{{ord(c):x}}}" for c in s)
    return f'"{body}"'


# 2. Literal cases.
SINGLE = {
    "unassigned (Cn): kept, so the word is [UNK]": [0x0378, 0x0380, 0x2FE0, 0xFDD0, 0xFDEF, 0xFFFE, 0xFFFF, 0x1FFFE, 0x2FFFF, 0x10FFFF],
    "assigned after HF's Unicode tables: letters to HF": [0x061D, 0x0890, 0x0897, 0x08D4, 0x1ABF, 0x2E48, 0x2E55, 0x2E5D, 0x11F00, 0x13430, 0x1E6E3],
    "category changed since HF's tables, or NFD unknown to them": [0x166D, 0x1715, 0x1734, 0x111C9, 0x1171E, 0x105C9, 0x11938],
    "around U+2B820..U+2B91F (not CJK to HF's is_chinese_char)": [0x2B81F, 0x2B820, 0x2B8A0, 0x2B91F, 0x2B920],
    "already equal before the table": [0x20, 0x41, 0xDF, 0xE9, 0x130, 0x3A3, 0x301, 0x200B, 0x2019, 0x3000, 0x4E2D, 0xAC00, 0xE000, 0xFFFD, 0x1F600, 0xE0001, 0xF0000],
}
print("const SINGLE: ReadonlyArray<readonly [number, readonly number[]]> = [")
for title, group in SINGLE.items():
    print(f"  // {title}")
    for c in group:
        print(f"  [0x{c:04x}, {tok.encode('w' + chr(c) + 'a').ids}],")
print("];")

uncased = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True, strip_accents=None, lowercase=True)
cased = normalizers.BertNormalizer(clean_text=True, handle_chinese_chars=True, strip_accents=False, lowercase=False)
TEXTS = [
    "A\U0001D16D\U0001D165B",  # two kept marks that NFD reorders (classes 226, 216)
    "A\u08D4\U0001D165B",  # U+08D4: Mn to Node, not to HF's categories, yet a class-230 mark to HF's NFD
    "A\U0001D16D\u0897\U0001D165B",  # U+0897 is unknown to HF's NFD: a starter, no reordering across it
    "x\U00011938y\U000105C9",  # decomposed by Node's NFD, not by HF's
    "\u00C9t\u00E9 \u2E48 w\u0378a \U0002B820\U0002B920",
]
print("const NORMALIZED: ReadonlyArray<readonly [string, string, string]> = [")
for t in TEXTS:
    print(f"  [{ts(t)}, {ts(uncased.normalize_str(t))}, {ts(cased.normalize_str(t))}],")
print("];")
