import { saveModelFolder } from "@mosaicbert/hub";
import { createModel, preset, toHfConfig } from "@mosaicbert/layers";
import { cpu } from "@mosaicbert/tensor";

/**
 * Writes a freshly initialised small MosaicBERT MLM folder (hidden 64, seed 1) to `dir`, as `pretrain` would leave
 * one; no tokenizer file, so jobs use the shipped bert-base-uncased vocab. Returns `dir`.
 */
export function tinyModelFolder(dir: string): string {
  const config = preset("tiny", { hiddenSize: 64, intermediateSize: 128 });
  const m = createModel(config, "mlm", cpu, { seed: 1 });
  const sd = m.stateDictHost();
  m.dispose();
  saveModelFolder(dir, {
    config: toHfConfig({ ...config, architectures: ["BertForMaskedLM"] }),
    tensors: new Map([...sd].map(([k, v]) => [k, { dtype: "f32" as const, shape: v.shape, data: v.data }])),
    modelCard: false,
  });
  return dir;
}
