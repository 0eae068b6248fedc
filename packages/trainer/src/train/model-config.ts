import { fromHfConfig, preset, toHfConfig, type ModelConfig } from "@mosaicbert/layers";
import type { PretrainConfig } from "../config/pretrain-schema.js";

/** Base architectures a recipe's `model.pretrained_model_name` may name (no weights are loaded: the reference pretrains from scratch). */
const BASES: Record<string, { mosaic: string; hf: string }> = {
  "bert-base-uncased": { mosaic: "mosaic-bert-base", hf: "bert-base" },
  "bert-large-uncased": { mosaic: "mosaic-bert-large", hf: "bert-large" },
  tiny: { mosaic: "tiny", hf: "tiny" },
};

/**
 * The model config of a recipe: the base architecture of `pretrained_model_name` for `model.name`
 * (mosaic_bert → MosaicBERT with vocab 30528; hf_bert → BERT with 30522), then `model_config`
 * overrides in Hugging Face key names, checked by the layers package.
 */
export function modelConfigOf(r: PretrainConfig): ModelConfig {
  const base = BASES[r.model.pretrained_model_name];
  if (!base) {
    throw new Error(`recipe: model.pretrained_model_name: expected one of ${Object.keys(BASES).join(", ")}, got ${JSON.stringify(r.model.pretrained_model_name)}`);
  }
  const mosaic = r.model.name === "mosaic_bert";
  let cfg = preset(mosaic ? base.mosaic : base.hf);
  if (!mosaic && cfg.arch !== "bert") {
    // The tiny preset is MosaicBERT; its BERT twin has the baseline's vocabulary and attention dropout.
    cfg = { ...cfg, arch: "bert", vocabSize: 30522, attentionProbsDropoutProb: 0.1, alibiStartingSize: null };
  }
  const overrides = r.model.model_config;
  if (!mosaic && overrides.alibi_starting_size !== undefined) {
    throw new Error("recipe: model.model_config.alibi_starting_size: only MosaicBERT (model.name mosaic_bert) has ALiBi");
  }
  const hf = { ...toHfConfig(cfg), ...overrides };
  try {
    return fromHfConfig(hf, { strict: true, file: "recipe model.model_config" }).config;
  } catch (e) {
    throw new Error(`recipe: model.model_config: ${(e as Error).message}`);
  }
}
