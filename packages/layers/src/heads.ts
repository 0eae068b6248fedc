import type { Backend, Tensor } from "@mosaicbert/tensor";
import type { ModelConfig } from "./config.js";
import { type Run, dropoutAt, free, linear, linearBackward } from "./ops.js";
import type { ParamSpec, ParameterStore } from "./params.js";

export const WORD_EMBEDDINGS = "bert.embeddings.word_embeddings.weight";

/** The MLM output bias: MosaicBERT names it `cls.predictions.decoder.bias`, transformers `cls.predictions.bias`. */
export function mlmBiasName(config: ModelConfig): string {
  return config.arch === "mosaic-bert" ? "cls.predictions.decoder.bias" : "cls.predictions.bias";
}

export function mlmHeadSpecs(config: ModelConfig): ParamSpec[] {
  const H = config.hiddenSize;
  return [
    { name: "cls.predictions.transform.dense.weight", shape: [H, H], init: "normal" },
    { name: "cls.predictions.transform.dense.bias", shape: [H], init: "zeros" },
    { name: "cls.predictions.transform.LayerNorm.weight", shape: [H], init: "ones" },
    { name: "cls.predictions.transform.LayerNorm.bias", shape: [H], init: "zeros" },
    { name: mlmBiasName(config), shape: [config.vocabSize], init: "zeros" },
  ];
}

export function classifierSpecs(config: ModelConfig): ParamSpec[] {
  const H = config.hiddenSize;
  return [
    { name: "bert.pooler.dense.weight", shape: [H, H], init: "normal" },
    { name: "bert.pooler.dense.bias", shape: [H], init: "zeros" },
    { name: "classifier.weight", shape: [config.numLabels, H], init: "normal" },
    { name: "classifier.bias", shape: [config.numLabels], init: "zeros" },
  ];
}

interface MlmSaved {
  h: Tensor;
  pre: Tensor;
  act: Tensor;
  mean: Tensor;
  rstd: Tensor;
  t: Tensor;
}

/** cls.predictions: dense → exact GELU → LayerNorm → decoder tied to the word embeddings + bias. */
export class MlmHead {
  private saved: MlmSaved | null = null;
  private readonly bias: string;

  constructor(private readonly store: ParameterStore, private readonly config: ModelConfig) {
    this.bias = mlmBiasName(config);
  }

  /** h [n, H] (kept when run.keep) → logits [n, V]. */
  forward(h: Tensor, run: Run): Tensor {
    const be = run.backend;
    const s = this.store;
    const pre = be.empty([h.shape[0]!, this.config.hiddenSize], h.dtype);
    const act = be.matmul(h, s.w("cls.predictions.transform.dense.weight"), {
      transB: true, bias: s.w("cls.predictions.transform.dense.bias"), activation: "gelu", preActivation: pre,
    });
    const ln = be.layerNorm(act, s.w("cls.predictions.transform.LayerNorm.weight"), s.w("cls.predictions.transform.LayerNorm.bias"), this.config.layerNormEps);
    const logits = linear(be, ln.y, s.w(WORD_EMBEDDINGS), s.w(this.bias));
    if (run.keep) this.saved = { h, pre, act, mean: ln.mean, rstd: ln.rstd, t: ln.y };
    else free(pre, act, ln.mean, ln.rstd, ln.y);
    return logits;
  }

  /** Consumes dlogits and the saved state (including h); returns dh [n, H]. */
  backward(dlogits: Tensor, be: Backend): Tensor {
    const sv = this.saved;
    if (!sv) throw new Error("MlmHead.backward: no saved forward pass");
    this.saved = null;
    const s = this.store;
    const dt = linearBackward(be, dlogits, sv.t, s.w(WORD_EMBEDDINGS), s.g(WORD_EMBEDDINGS), s.g(this.bias))!;
    dlogits.dispose();
    const dact = be.layerNormBackward(dt, sv.act, s.w("cls.predictions.transform.LayerNorm.weight"), sv.mean, sv.rstd, {
      dweight: s.g("cls.predictions.transform.LayerNorm.weight"),
      dbias: s.g("cls.predictions.transform.LayerNorm.bias"),
    });
    dt.dispose();
    const dpre = be.geluBackward(dact, sv.pre);
    dact.dispose();
    const dh = linearBackward(be, dpre, sv.h, s.w("cls.predictions.transform.dense.weight"), s.g("cls.predictions.transform.dense.weight"), s.g("cls.predictions.transform.dense.bias"))!;
    free(dpre, sv.h, sv.pre, sv.act, sv.mean, sv.rstd, sv.t);
    return dh;
  }

  release(): void {
    const sv = this.saved;
    this.saved = null;
    if (sv) free(sv.h, sv.pre, sv.act, sv.mean, sv.rstd, sv.t);
  }
}

interface ClsSaved {
  first: Tensor;
  pooled: Tensor;
  dropped: Tensor;
  drop: { p: number; seed: number } | null;
}

/** Pooler (tanh(dense(h[:, 0]))) → dropout → classifier. */
export class ClassifierHead {
  private saved: ClsSaved | null = null;

  constructor(private readonly store: ParameterStore, private readonly config: ModelConfig) {}

  /** first [B, H] (kept when run.keep) → logits [B, numLabels]. */
  forward(first: Tensor, run: Run): Tensor {
    const be = run.backend;
    const s = this.store;
    const z = linear(be, first, s.w("bert.pooler.dense.weight"), s.w("bert.pooler.dense.bias"));
    const pooled = be.tanh(z);
    z.dispose();
    const c = this.config;
    const drop = dropoutAt(run, c.classifierDropout ?? c.hiddenDropoutProb, "classifier.dropout");
    const dropped = drop ? be.dropout(pooled, drop) : pooled;
    const logits = linear(be, dropped, s.w("classifier.weight"), s.w("classifier.bias"));
    if (run.keep) this.saved = { first, pooled, dropped, drop };
    else free(pooled, dropped === pooled ? null : dropped);
    return logits;
  }

  /** Consumes dlogits and the saved state (including first); returns dfirst [B, H]. */
  backward(dlogits: Tensor, be: Backend): Tensor {
    const sv = this.saved;
    if (!sv) throw new Error("ClassifierHead.backward: no saved forward pass");
    this.saved = null;
    const s = this.store;
    const ddrop = linearBackward(be, dlogits, sv.dropped, s.w("classifier.weight"), s.g("classifier.weight"), s.g("classifier.bias"))!;
    dlogits.dispose();
    const dpooled = sv.drop ? be.dropoutBackward(ddrop, sv.drop) : ddrop;
    if (dpooled !== ddrop) ddrop.dispose();
    const dz = be.tanhBackward(dpooled, sv.pooled);
    dpooled.dispose();
    const dfirst = linearBackward(be, dz, sv.first, s.w("bert.pooler.dense.weight"), s.g("bert.pooler.dense.weight"), s.g("bert.pooler.dense.bias"))!;
    free(dz, sv.first, sv.pooled, sv.dropped === sv.pooled ? null : sv.dropped);
    return dfirst;
  }

  release(): void {
    const sv = this.saved;
    this.saved = null;
    if (sv) free(sv.first, sv.pooled, sv.dropped === sv.pooled ? null : sv.dropped);
  }
}
