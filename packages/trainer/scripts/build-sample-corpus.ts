// Regenerates packages/trainer/assets/sample-corpus (the data `mosaicbert pretrain` uses with no
// arguments) from the public-domain texts in ../shared/data/text:
//   cd packages/trainer && node --import ./src/from-source/register-ts.mjs scripts/build-sample-corpus.ts [TEXT…]
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { buildSampleCorpus } from "../src/data/sample-corpus.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, "../../..");
const inputs = process.argv.length > 2
  ? process.argv.slice(2)
  : [path.resolve(repo, "../shared/data/text/jane-austen/prideprejudice.txt")];
const out = path.resolve(here, "../assets/sample-corpus");
const counts = await buildSampleCorpus({ inputs, out });
console.log(`wrote ${out}: ${counts.train} train and ${counts.val} val documents from ${inputs.join(", ")}`);
