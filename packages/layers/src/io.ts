import * as fs from "node:fs";
import * as path from "node:path";
import * as hub from "@mosaicbert/hub";
import type { Backend } from "@mosaicbert/tensor";
import type { StateDict } from "./checkpoint.js";
import { type ModelConfig, fromHfConfig, toHfConfig } from "./config.js";
import { remoteCodeFiles } from "./remote-code.js";
import { type AnyModel, type Task, createModel, detectTask } from "./factory.js";
import type { ModelOptions } from "./model.js";
import type { LoadOptions } from "./checkpoint.js";

/** Converts a safetensors tensor map (any float dtype) to a float32 host state dict. */
export function stateDictFromTensors(tensors: ReadonlyMap<string, { dtype: string; shape: number[]; data: Uint8Array }>): StateDict {
  const out: StateDict = new Map();
  for (const [name, e] of tensors) {
    out.set(name, { shape: e.shape, data: hub.toFloat32(e as Parameters<typeof hub.toFloat32>[0]) });
  }
  return out;
}

/**
 * Reads config.json from a model folder. `tensorNames` (the weights' names) decide the architecture
 * when the config does not (see FromHfOptions.tensorNames).
 */
export function readConfig(dir: string, o: { tensorNames?: Iterable<string> } = {}): { config: ModelConfig; warnings: string[] } {
  const file = path.join(dir, "config.json");
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    throw new Error(`${file}: cannot read the model config: ${(e as Error).message}`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new Error(`${file}: not valid JSON: ${(e as Error).message}`);
  }
  return fromHfConfig(json, { file, tensorNames: o.tensorNames });
}

/**
 * Loads the weights of a model folder through @mosaicbert/hub: model.safetensors, sharded
 * safetensors, pytorch_model.bin (read without executing pickles) or its shards.
 */
export function readWeights(dir: string): { stateDict: StateDict; file: string } {
  const folder = hub.loadModelFolder(dir);
  return { stateDict: stateDictFromTensors(folder.tensors), file: folder.weights.map((w) => path.join(dir, w)).join(", ") };
}

export interface LoadPretrainedOptions extends ModelOptions, LoadOptions {
  /** Which head to build; default: detected from the weights, then config `architectures`. */
  task?: Task;
}

/** Builds a model from a Hugging Face folder (config.json + weights) on a backend. */
export function loadPretrained(dir: string, backend: Backend, opts: LoadPretrainedOptions = {}): { model: AnyModel; task: Task; warnings: string[] } {
  const { stateDict, file } = readWeights(dir);
  const { config, warnings } = readConfig(dir, { tensorNames: stateDict.keys() });
  const configFile = path.join(dir, "config.json");
  const task = opts.task ?? detectTask(config, stateDict.keys(), configFile);
  const model = createModel(config, task, backend, { ...opts, configFile: opts.configFile ?? configFile });
  try {
    const ignore = task === "encoder" ? ["cls.", "bert.pooler.", "classifier."] : [];
    model.loadStateDict(stateDict, { file, allowMissing: opts.allowMissing, ignoreUnexpected: [...ignore, ...(opts.ignoreUnexpected ?? [])] });
  } catch (e) {
    model.dispose();
    throw e;
  }
  return { model, task, warnings };
}

/**
 * Writes config.json, model.safetensors (float32, tied decoder omitted as transformers does), a model card and,
 * for MosaicBERT, the PyTorch code its config's auto_map names (remote-code.ts).
 */
export function savePretrained(model: AnyModel, dir: string, opts: { architectures?: string[]; modelCard?: false } = {}): string[] {
  const config = { ...model.config };
  if (opts.architectures) config.architectures = opts.architectures;
  const tensors = new Map<string, { dtype: "f32"; shape: number[]; data: Float32Array }>();
  for (const [name, e] of model.stateDictHost()) tensors.set(name, { dtype: "f32", shape: [...e.shape], data: e.data });
  const hf = toHfConfig(config);
  return hub.saveModelFolder(dir, { config: hf, tensors, tokenizerFiles: remoteCodeFiles(hf), ...(opts.modelCard === false ? { modelCard: false } : {}) });
}
