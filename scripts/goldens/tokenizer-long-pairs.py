#!/usr/bin/env python3
"""Hugging Face encodings of long RTE pairs, for the tokenizer's truncation goldens.

Reads packages/data-streaming/src/tokenizer/fixtures/rte-long-pairs.input.jsonl (real RTE pairs whose
encoding exceeds max_length; selected by length only) and writes, per pair, what Hugging Face's Rust
`tokenizers` gives with longest-first truncation: {source, a, b, max_length, input_ids, token_type_ids}.
The tokenizer is built from the repository's shipped vocab.txt with bert-base-uncased's settings; when
`transformers` is importable its BertTokenizerFast must agree (it wraps the same Rust code).

Run where `tokenizers` is installed (the GPU machine has transformers 5.17):
    python3 scripts/goldens/tokenizer-long-pairs.py --out packages/data-streaming/src/tokenizer/fixtures/rte-long-pairs.jsonl
"""
import argparse
import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
INPUT = os.path.join(ROOT, "packages/data-streaming/src/tokenizer/fixtures/rte-long-pairs.input.jsonl")
VOCAB = os.path.join(ROOT, "packages/data-streaming/assets/bert-base-uncased-vocab.txt")


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    args = ap.parse_args()

    from tokenizers import BertWordPieceTokenizer

    rows = [json.loads(line) for line in open(INPUT, encoding="utf-8") if line.strip()]
    by_len = {}
    out = []
    for r in rows:
        L = r["max_length"]
        if L not in by_len:
            t = BertWordPieceTokenizer(VOCAB, lowercase=True, clean_text=True, handle_chinese_chars=True, strip_accents=None)
            t.enable_truncation(max_length=L, strategy="longest_first")
            by_len[L] = t
        e = by_len[L].encode(r["a"], r["b"])
        if len(e.ids) != L:
            print(f"not cut at {L}: {r['a'][:60]!r}", file=sys.stderr)
            return 1
        out.append({**r, "input_ids": e.ids, "token_type_ids": e.type_ids})

    try:
        from transformers import BertTokenizerFast
    except Exception as err:  # noqa: BLE001 - optional cross-check
        print(f"transformers not importable ({err}); tokenizers only", file=sys.stderr)
    else:
        hf = BertTokenizerFast(vocab_file=VOCAB, do_lower_case=True)
        for g in out:
            e = hf(g["a"], g["b"], truncation="longest_first", max_length=g["max_length"])
            if e["input_ids"] != g["input_ids"] or e["token_type_ids"] != g["token_type_ids"]:
                print(f"transformers and tokenizers differ on {g['a'][:60]!r}", file=sys.stderr)
                return 1

    with open(args.out, "w", encoding="utf-8") as f:
        for g in out:
            f.write(json.dumps(g, ensure_ascii=False) + "\n")
    print(f"{len(out)} pairs written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
