import { type ModelConfig, validateConfig } from "./config.js";

/** Names accepted by `preset()`. */
export const PRESET_NAMES = ["tiny", "mosaic-bert-base", "mosaic-bert-large", "bert-base", "bert-large"] as const;
export type PresetName = (typeof PRESET_NAMES)[number];

function mosaic(hidden: number, layers: number, heads: number, intermediate: number): ModelConfig {
  return {
    arch: "mosaic-bert",
    // bert-base-uncased's 30522 rounded up to a multiple of 8, as the reference factory does.
    vocabSize: 30528,
    hiddenSize: hidden,
    numHiddenLayers: layers,
    numAttentionHeads: heads,
    intermediateSize: intermediate,
    hiddenAct: "gelu",
    hiddenDropoutProb: 0.1,
    // The pretraining recipe passes 0.0 (FlashAttention path).
    attentionProbsDropoutProb: 0,
    maxPositionEmbeddings: 512,
    typeVocabSize: 2,
    initializerRange: 0.02,
    layerNormEps: 1e-12,
    padTokenId: 0,
    alibiStartingSize: 512,
    classifierDropout: null,
    numLabels: 2,
    problemType: null,
    architectures: ["BertForMaskedLM"],
    id2label: null,
  };
}

function bert(hidden: number, layers: number, heads: number, intermediate: number): ModelConfig {
  return {
    ...mosaic(hidden, layers, heads, intermediate),
    arch: "bert",
    vocabSize: 30522,
    attentionProbsDropoutProb: 0.1,
    alibiStartingSize: null,
  };
}

const PRESETS: Record<PresetName, () => ModelConfig> = {
  // Small enough to pretrain on a CPU in minutes, with the full 30528 vocabulary.
  tiny: () => mosaic(128, 2, 2, 256),
  "mosaic-bert-base": () => mosaic(768, 12, 12, 3072),
  "mosaic-bert-large": () => mosaic(1024, 24, 16, 4096),
  "bert-base": () => bert(768, 12, 12, 3072),
  "bert-large": () => bert(1024, 24, 16, 4096),
};

/** A fresh copy of a named preset, with optional overrides (validated). */
export function preset(name: PresetName | string, overrides: Partial<ModelConfig> = {}): ModelConfig {
  const make = (PRESETS as Record<string, () => ModelConfig>)[name];
  if (!make) throw new Error(`unknown model preset '${name}': expected one of ${PRESET_NAMES.join(", ")}`);
  return validateConfig({ ...make(), ...overrides });
}
