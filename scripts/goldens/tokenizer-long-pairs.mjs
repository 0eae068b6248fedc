// Hugging Face encodings of long RTE pairs, for the tokenizer's truncation goldens — the Node twin of
// tokenizer-long-pairs.py, through Hugging Face's own Rust `tokenizers` (its Node binding, npm
// `tokenizers` 0.23.x: the same Rust code the Python package and transformers' BertTokenizerFast wrap).
// Not a dependency of this repository: install it anywhere and point TOKENIZERS at it:
//   (cd /tmp/hftok && npm init -y && npm install tokenizers@0.23.2)
//   TOKENIZERS=/tmp/hftok/node_modules/tokenizers node scripts/goldens/tokenizer-long-pairs.mjs \
//     --out packages/data-streaming/src/tokenizer/fixtures/rte-long-pairs.jsonl
// The tokenizer is ../shared/data/vocab/bert-base-uncased-tokenizer.json (the file the other tokenizer
// goldens came from), truncated longest-first to each row's max_length.
import { createRequire } from "node:module";
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const input = path.join(root, "packages/data-streaming/src/tokenizer/fixtures/rte-long-pairs.input.jsonl");
const tokJson = path.resolve(root, "../shared/data/vocab/bert-base-uncased-tokenizer.json");
const outIdx = process.argv.indexOf("--out");
const out = outIdx > 0 ? process.argv[outIdx + 1] : null;
if (!out || !process.env.TOKENIZERS) {
  console.error("usage: TOKENIZERS=<path to the npm tokenizers package> node scripts/goldens/tokenizer-long-pairs.mjs --out FILE");
  process.exit(2);
}
const { Tokenizer } = createRequire(import.meta.url)(path.resolve(process.env.TOKENIZERS));
const version = JSON.parse(fs.readFileSync(path.join(path.resolve(process.env.TOKENIZERS), "package.json"), "utf8")).version;
const rows = fs.readFileSync(input, "utf8").split("\n").filter((l) => l.trim()).map((l) => JSON.parse(l));
const lines = [];
for (const r of rows) {
  const tok = Tokenizer.fromFile(tokJson);
  tok.setTruncation(r.max_length, { strategy: "LongestFirst" });
  const e = await tok.encode(r.a, r.b);
  const ids = e.getIds();
  if (ids.length !== r.max_length) {
    console.error(`not cut at ${r.max_length}: ${r.a.slice(0, 60)}`);
    process.exit(1);
  }
  lines.push(JSON.stringify({ ...r, input_ids: ids, token_type_ids: e.getTypeIds() }));
}
fs.writeFileSync(out, lines.join("\n") + "\n");
console.log(`${lines.length} pairs written to ${out} (tokenizers ${version}, ${path.basename(tokJson)})`);
