import { PYTHON_FILES } from "./remote-code-files.js";

/**
 * MosaicBERT is not built into Hugging Face transformers: a MosaicBERT folder names its own model type
 * ("mosaic_bert") and carries the PyTorch code for it (python/ of this package, written for this project,
 * embedded in remote-code-files.ts by scripts/embed-python.mjs),
 * which `AutoModel*.from_pretrained(folder, trust_remote_code=True)` loads through `auto_map`. Without
 * trust_remote_code transformers refuses the folder instead of building a plain BERT.
 */
export const MOSAIC_MODEL_TYPE = "mosaic_bert";
export const REMOTE_CODE_FILES = ["configuration_mosaic_bert.py", "modeling_mosaic_bert.py"] as const;

export const MOSAIC_AUTO_MAP: Readonly<Record<string, string>> = {
  AutoConfig: "configuration_mosaic_bert.MosaicBertConfig",
  AutoModel: "modeling_mosaic_bert.MosaicBertModel",
  AutoModelForMaskedLM: "modeling_mosaic_bert.MosaicBertForMaskedLM",
  AutoModelForSequenceClassification: "modeling_mosaic_bert.MosaicBertForSequenceClassification",
};

/** Hugging Face class names: ours for MosaicBERT ("MosaicBertForMaskedLM"), transformers' for BERT. */
export function hfArchitectures(mosaic: boolean, architectures: string[]): string[] {
  return architectures.map((a) => (mosaic ? a.replace(/^(Mosaic)?Bert/, "MosaicBert") : a.replace(/^MosaicBert/, "Bert")));
}

/** The Python files a folder with this config.json needs beside its weights: name → contents (none for BERT). */
export function remoteCodeFiles(hfConfig: Record<string, unknown>): Record<string, string> {
  if (hfConfig.model_type !== MOSAIC_MODEL_TYPE) return {};
  return Object.fromEntries(REMOTE_CODE_FILES.map((f) => [f, PYTHON_FILES[f]!]));
}
