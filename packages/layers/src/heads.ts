import type { Backend, Tensor } from "@mosaicbert/tensor";
import type { ModelConfig } from "./config.js";
import { ConfigError } from "./errors.js";
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

/** LayerNorm eps of the MLM head transform: the MosaicBERT reference hard-codes 1e-12, transformers' BERT uses layer_norm_eps. */
export function mlmHeadLayerNormEps(config: ModelConfig): number {
  return config.arch === "mosaic-bert" ? 1e-12 : config.layerNormEps;
}

const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);
const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));
/** GELU, tanh approximation (gelu_new, gelu_fast, gelu_pytorch_tanh, gelu_python_tanh). */
const geluTanh = { f: (x: number) => 0.5 * x * (1 + Math.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x))), d: (x: number) => {
  const t = Math.tanh(SQRT_2_OVER_PI * (x + 0.044715 * x * x * x));
  return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * SQRT_2_OVER_PI * (1 + 3 * 0.044715 * x * x);
} };
const silu = { f: (x: number) => x * sigmoid(x), d: (x: number) => { const s = sigmoid(x); return s + x * s * (1 - s); } };

/**
 * The MLM head's activations other than exact GELU, by transformers ACT2FN name: f and f' (float64). The tensor
 * contract has no op for them, so the head applies them on the host ([n, H] values through read/fromArray,
 * any backend); exact GELU ("gelu", "gelu_python") stays the fused matmul epilogue.
 */
export const HOST_ACTIVATIONS: Readonly<Record<string, { f: (x: number) => number; d: (x: number) => number }>> = {
  gelu_new: geluTanh,
  gelu_fast: geluTanh,
  gelu_pytorch_tanh: geluTanh,
  gelu_python_tanh: geluTanh,
  quick_gelu: { f: (x) => x * sigmoid(1.702 * x), d: (x) => { const s = sigmoid(1.702 * x); return s + 1.702 * x * s * (1 - s); } },
  relu: { f: (x) => (x > 0 ? x : 0), d: (x) => (x > 0 ? 1 : 0) },
  silu,
  swish: silu,
  tanh: { f: Math.tanh, d: (x) => 1 - Math.tanh(x) ** 2 },
  sigmoid: { f: sigmoid, d: (x) => sigmoid(x) * (1 - sigmoid(x)) },
  linear: { f: (x) => x, d: () => 1 },
};

/** hidden_act values the MLM head transform supports (MosaicBERT; BERT configs are "gelu"). */
export const MLM_HEAD_ACTIVATIONS: readonly string[] = ["gelu", "gelu_python", ...Object.keys(HOST_ACTIVATIONS)];

/**
 * Throws unless the MLM head supports config.hiddenAct. Only masked LMs call it: MosaicBERT's classifiers and
 * encoders do not use hidden_act at all (the reference neither).
 */
export function checkMlmHeadActivation(config: ModelConfig, file?: string): void {
  if (MLM_HEAD_ACTIVATIONS.includes(config.hiddenAct)) return;
  throw new ConfigError(
    "hidden_act",
    `${JSON.stringify(config.hiddenAct)} is not supported by the MLM head transform (the only place MosaicBERT uses hidden_act); expected one of ${MLM_HEAD_ACTIVATIONS.join(", ")}. Classifier and encoder folders load with any hidden_act`,
    file,
  );
}

/** f(x) of a host activation on a whole tensor, in x's dtype. */
function hostMap(be: Backend, x: Tensor, f: (v: number) => number): Tensor {
  const v = be.read(x) as Float32Array;
  const out = new Float32Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = f(v[i]!);
  return be.fromArray(out, x.shape, x.dtype);
}

/** dy ⊙ f'(x), in dy's dtype. */
function hostBackward(be: Backend, dy: Tensor, x: Tensor, d: (v: number) => number): Tensor {
  const g = be.read(dy) as Float32Array;
  const v = be.read(x) as Float32Array;
  const out = new Float32Array(g.length);
  for (let i = 0; i < g.length; i++) out[i] = g[i]! * d(v[i]!);
  return be.fromArray(out, dy.shape, dy.dtype);
}

interface MlmSaved {
  h: Tensor;
  pre: Tensor;
  act: Tensor;
  mean: Tensor;
  rstd: Tensor;
  t: Tensor;
}

/**
 * cls.predictions: dense → activation (hidden_act: exact GELU, or a host activation) → LayerNorm (MosaicBERT:
 * eps 1e-12, as the reference; BERT: layer_norm_eps) → decoder tied to the word embeddings + bias.
 */
export class MlmHead {
  private saved: MlmSaved | null = null;
  private readonly bias: string;
  private readonly hostAct: { f: (x: number) => number; d: (x: number) => number } | null;
  private readonly eps: number;

  constructor(private readonly store: ParameterStore, private readonly config: ModelConfig, file?: string) {
    checkMlmHeadActivation(config, file);
    this.bias = mlmBiasName(config);
    this.hostAct = HOST_ACTIVATIONS[config.hiddenAct] ?? null;
    this.eps = mlmHeadLayerNormEps(config);
  }

  /** h [n, H] (kept when run.keep) → logits [n, V]. */
  forward(h: Tensor, run: Run): Tensor {
    const be = run.backend;
    const s = this.store;
    let pre: Tensor;
    let act: Tensor;
    if (this.hostAct) {
      pre = linear(be, h, s.w("cls.predictions.transform.dense.weight"), s.w("cls.predictions.transform.dense.bias"));
      act = hostMap(be, pre, this.hostAct.f);
    } else {
      pre = be.empty([h.shape[0]!, this.config.hiddenSize], h.dtype);
      act = be.matmul(h, s.w("cls.predictions.transform.dense.weight"), {
        transB: true, bias: s.w("cls.predictions.transform.dense.bias"), activation: "gelu", preActivation: pre,
      });
    }
    const ln = be.layerNorm(act, s.w("cls.predictions.transform.LayerNorm.weight"), s.w("cls.predictions.transform.LayerNorm.bias"), this.eps);
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
    const dpre = this.hostAct ? hostBackward(be, dact, sv.pre, this.hostAct.d) : be.geluBackward(dact, sv.pre);
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
