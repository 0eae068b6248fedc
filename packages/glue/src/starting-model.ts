import { existsSync, statSync } from "node:fs";
import { basename, join } from "node:path";
import { type BertTokenizer, bertBaseUncased, modelFolderTokenizer } from "@mosaicbert/data-streaming";
import { loadModelFolder, toFloat32 } from "@mosaicbert/hub";
import { type ModelConfig, type StateDict, fromHfConfig, preset } from "@mosaicbert/layers";

/** What every GLUE job starts from: an encoder config, its weights (or none) and the tokenizer. */
export interface StartingModel {
  config: ModelConfig;
  /** Host weights under reference names; null = fresh random initialisation (no pretrained checkpoint). */
  weights: StateDict | null;
  /** In words, for the report: the folder and weights file, or the preset. */
  source: string;
  tokenizer: BertTokenizer;
  /** The folder's vocab.txt or tokenizer.json the tokenizer was read from; null for the shipped bert-base-uncased. */
  tokenizerFile: string | null;
  /** Non-fatal remarks (unknown config fields, …). */
  warnings: string[];
}

/**
 * Loads a Hugging Face model folder (config.json + model.safetensors / pytorch_model.bin, sharded or
 * not) as the starting point of fine-tuning — an MLM checkpoint or an already fine-tuned classifier
 * (its classifier is dropped per job). The folder's vocab.txt / tokenizer.json is used when present,
 * else bert-base-uncased.
 */
export function loadStartingModel(dir: string): StartingModel {
  if (!existsSync(dir) || !statSync(dir).isDirectory()) {
    throw new Error(`--model: ${dir} is not a directory; expected a model folder with config.json and model.safetensors (or pytorch_model.bin)`);
  }
  const folder = loadModelFolder(dir);
  const { config, warnings } = fromHfConfig(folder.config, { file: join(dir, "config.json"), tensorNames: folder.tensors.keys() });
  const weights: StateDict = new Map();
  for (const [name, entry] of folder.tensors) weights.set(name, { shape: [...entry.shape], data: toFloat32(entry) });
  const { tokenizer, file } = modelFolderTokenizer(dir);
  checkVocab(tokenizer, config, file ?? "bert-base-uncased");
  return { config, weights, source: `${dir} (${folder.weights.join(", ")})`, tokenizer, tokenizerFile: file, warnings: [...warnings] };
}

/**
 * A freshly initialised model of a layers preset ("tiny", "mosaic-bert-base", …) with the
 * bert-base-uncased tokenizer: for smoke tests and CI, where no pretrained checkpoint exists. Scores
 * from it say nothing about pretraining.
 */
export function freshStartingModel(presetName: string): StartingModel {
  const config = preset(presetName);
  const tokenizer = bertBaseUncased();
  checkVocab(tokenizer, config, "bert-base-uncased");
  return { config, weights: null, source: `preset ${presetName} (random initialisation, no pretrained weights)`, tokenizer, tokenizerFile: null, warnings: [] };
}

function checkVocab(tok: BertTokenizer, config: ModelConfig, what: string): void {
  if (tok.vocabSize > config.vocabSize) {
    throw new Error(`tokenizer ${basename(what)} has ${tok.vocabSize} ids but the model's vocab_size is ${config.vocabSize}; expected a tokenizer whose ids fit the embedding table`);
  }
}
