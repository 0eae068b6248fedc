// Runnable version of the README example: `pnpm build`, then from the repository root: node packages/hub/example.mjs
import { loadModelFolder, readPytorchBin, readSafetensorsHeader, saveModelFolder, toFloat32 } from "@mosaicbert/hub";
import * as os from "node:os";
import * as path from "node:path";

const golden = path.resolve("../shared/data/golden/mosaic-tiny-mlm");
const { config, tensors } = loadModelFolder(golden);
const emb = tensors.get("bert.embeddings.word_embeddings.weight");
console.log(emb.dtype, emb.shape, toFloat32(emb).slice(0, 3));
const bin = readPytorchBin(path.join(golden, "pytorch_model.bin"));
console.log(bin.has("cls.predictions.decoder.weight"));
const out = path.join(os.tmpdir(), "mosaic-tiny-copy");
saveModelFolder(out, { config, tensors, modelCard: { repo: "me/mosaic-tiny", datasets: ["wikitext"] } });
console.log(readSafetensorsHeader(path.join(out, "model.safetensors")).metadata);
