import { createModel, DecoupledAdamW } from "@mosaicbert/layers";
import { modelConfigOf } from "../model-config.js";
import type { Data, Trainee, World } from "./session.js";

/** Phase 3: the masked-LM model of the recipe (seeded, bf16 compute on CUDA) and its decoupled AdamW. */
export function setUpModel(w: World, data: Data): Trainee {
  const { cfg, backend } = w;
  const modelConfig = modelConfigOf(cfg);
  if (data.tokenizer.vocabSize > modelConfig.vocabSize) {
    throw new Error(`recipe: the tokenizer has ${data.tokenizer.vocabSize} ids but the model's vocab_size is ${modelConfig.vocabSize}`);
  }
  const model = createModel(modelConfig, "mlm", backend, { seed: cfg.seed, computeDtype: w.bf16 ? "bf16" : "f32" });
  const flat = model.flat;
  const opt = new DecoupledAdamW(backend, [{ param: flat.params, grad: flat.grads, lowp: flat.lowp }], {
    lr: cfg.optimizer.lr, betas: cfg.optimizer.betas, eps: cfg.optimizer.eps, weightDecay: cfg.optimizer.weight_decay,
  });
  return { modelConfig, model, opt };
}
