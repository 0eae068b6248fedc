/**
 * Fine-tuned folders for the PyTorch load check (finetuned_hf.py), made on the CPU at pack time:
 *
 *   node --import ./packages/trainer/src/from-source/register-ts.mjs packages/trainer/src/checks/finetuned-fixture.ts <shared/data> <out-dir>
 *
 * For BERT and MosaicBERT (small, hidden 64, 2 layers, the bert-base-uncased vocabulary, fresh
 * weights: ~8 MB a folder, so both fit the GPU machine's carry): `finetune` on 480 SST-2 rows for 3 epochs into <out-dir>/<arch>/, then our class
 * probabilities for 32 held-out SST-2 sentences (infer, float32, CPU) into <out-dir>/<arch>.jsonl.
 */
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { bertBaseUncased } from "@mosaicbert/data-streaming";
import { saveModelFolder } from "@mosaicbert/hub";
import { runInfer } from "@mosaicbert/inference";
import { createModel, preset, toHfConfig } from "@mosaicbert/layers";
import { cpu } from "@mosaicbert/tensor";
import { finetuneFiles } from "../finetune/run.js";

const [data, out] = process.argv.slice(2);
if (!data || !out) {
  console.error("usage: finetuned-fixture.ts <shared/data> <out-dir>");
  process.exit(2);
}
fs.mkdirSync(out, { recursive: true });
const rows = fs.readFileSync(path.join(data, "glue/SST-2/train.tsv"), "utf8").trim().split("\n").slice(1).map((l) => l.split("\t"));
const csv = (s: string) => (/[",\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
const train = path.join(out, "train.csv");
const evalFile = path.join(out, "eval.csv");
fs.writeFileSync(train, `sentence,label\n${rows.slice(0, 480).map(([s, l]) => `${csv(s!)},${l === "1" ? "positive" : "negative"}`).join("\n")}\n`);
fs.writeFileSync(evalFile, `sentence,label\n${rows.slice(60000, 60100).map(([s, l]) => `${csv(s!)},${l === "1" ? "positive" : "negative"}`).join("\n")}\n`);
const texts = rows.slice(61000, 61032).map(([s]) => s!);

for (const arch of ["bert", "mosaic-bert"] as const) {
  const config = preset(arch === "bert" ? "bert-base" : "mosaic-bert-base", { hiddenSize: 64, numHiddenLayers: 2, numAttentionHeads: 2, intermediateSize: 128 });
  // The starting weights are only finetune's input: kept outside <out-dir>, which is carried to the GPU machine.
  const start = fs.mkdtempSync(path.join(os.tmpdir(), `${arch}-start-`));
  const m = createModel(config, "mlm", cpu, { seed: 1 });
  saveModelFolder(start, {
    config: toHfConfig({ ...config, architectures: ["BertForMaskedLM"] }),
    tensors: new Map([...m.stateDictHost()].map(([k, v]) => [k, { dtype: "f32" as const, shape: v.shape, data: v.data }])),
    modelCard: false,
  });
  m.dispose();
  const dir = path.join(out, arch);
  await finetuneFiles({ model: start, train, eval: evalFile, out: dir, overwrite: true, epochs: 3, lr: 1e-3, maxSeqLen: 64, backend: cpu });
  const res = await runInfer({ modelDir: dir, texts, tokenizer: bertBaseUncased(), log: () => {} });
  fs.writeFileSync(path.join(out, `${arch}.jsonl`), res.classes!.map((r) => JSON.stringify({ text: r.text, probs: Object.fromEntries(r.labels) })).join("\n") + "\n");
  fs.rmSync(start, { recursive: true, force: true });
  console.log(`${dir}: fine-tuned; our probabilities for ${texts.length} texts in ${dir}.jsonl`);
}
