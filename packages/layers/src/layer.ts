import type { AttentionArgs, Backend, Tensor } from "@mosaicbert/tensor";
import type { ModelConfig } from "./config.js";
import { type Run, dropoutAt, free, linear, linearBackward } from "./ops.js";
import type { ParamSpec, ParameterStore } from "./params.js";

/** Attention settings shared by every layer of one forward call (dropout is added per layer). */
export type SharedAttention = Omit<AttentionArgs, "dropout">;

interface Saved {
  x: Tensor;
  qkv: Tensor;
  /** Attention output for every row (what attentionBackward needs). */
  ctx: Tensor;
  /** Rows the rest of the layer ran on (last layer of an MLM pass), with their ctx and x. */
  subset: Tensor | null;
  ctxRows: Tensor | null;
  xRows: Tensor | null;
  lse: Tensor;
  args: AttentionArgs;
  attnDrop: { p: number; seed: number } | null;
  outDrop: { p: number; seed: number } | null;
  sum1: Tensor;
  mean1: Tensor;
  rstd1: Tensor;
  a: Tensor;
  /** MosaicBERT: the GLU input g [T, 2I]. BERT: the intermediate pre-activation [T, I]. */
  pre: Tensor;
  /** Input of the FFN output projection (after dropout for MosaicBERT; gelu output for BERT). */
  ffnIn: Tensor;
  ffnDrop: { p: number; seed: number } | null;
  sum2: Tensor;
  mean2: Tensor;
  rstd2: Tensor;
}

/** State-dict names of one encoder layer. */
export function layerSpecs(config: ModelConfig, l: number): ParamSpec[] {
  const H = config.hiddenSize;
  const I = config.intermediateSize;
  const p = `bert.encoder.layer.${l}.`;
  const attn: ParamSpec[] = config.arch === "mosaic-bert"
    ? [
        { name: `${p}attention.self.Wqkv.weight`, shape: [3 * H, H], init: "normal" },
        { name: `${p}attention.self.Wqkv.bias`, shape: [3 * H], init: "zeros" },
      ]
    : [
        // Laid out back to back so that the three form one fused [3H, H] QKV matrix.
        { name: `${p}attention.self.query.weight`, shape: [H, H], init: "normal", group: `${p}qkv.w` },
        { name: `${p}attention.self.key.weight`, shape: [H, H], init: "normal", group: `${p}qkv.w` },
        { name: `${p}attention.self.value.weight`, shape: [H, H], init: "normal", group: `${p}qkv.w` },
        { name: `${p}attention.self.query.bias`, shape: [H], init: "zeros", group: `${p}qkv.b` },
        { name: `${p}attention.self.key.bias`, shape: [H], init: "zeros", group: `${p}qkv.b` },
        { name: `${p}attention.self.value.bias`, shape: [H], init: "zeros", group: `${p}qkv.b` },
      ];
  const out: ParamSpec[] = [
    { name: `${p}attention.output.dense.weight`, shape: [H, H], init: "normal" },
    { name: `${p}attention.output.dense.bias`, shape: [H], init: "zeros" },
    { name: `${p}attention.output.LayerNorm.weight`, shape: [H], init: "ones" },
    { name: `${p}attention.output.LayerNorm.bias`, shape: [H], init: "zeros" },
  ];
  const ffn: ParamSpec[] = config.arch === "mosaic-bert"
    ? [
        { name: `${p}mlp.gated_layers.weight`, shape: [2 * I, H], init: "normal" },
        { name: `${p}mlp.wo.weight`, shape: [H, I], init: "normal" },
        { name: `${p}mlp.wo.bias`, shape: [H], init: "zeros" },
        { name: `${p}mlp.layernorm.weight`, shape: [H], init: "ones" },
        { name: `${p}mlp.layernorm.bias`, shape: [H], init: "zeros" },
      ]
    : [
        { name: `${p}intermediate.dense.weight`, shape: [I, H], init: "normal" },
        { name: `${p}intermediate.dense.bias`, shape: [I], init: "zeros" },
        { name: `${p}output.dense.weight`, shape: [H, I], init: "normal" },
        { name: `${p}output.dense.bias`, shape: [H], init: "zeros" },
        { name: `${p}output.LayerNorm.weight`, shape: [H], init: "ones" },
        { name: `${p}output.LayerNorm.bias`, shape: [H], init: "zeros" },
      ];
  return [...attn, ...out, ...ffn];
}

/**
 * One post-LN encoder layer on packed rows x [T, H]:
 *   a = LN(Dropout(Attn(x)·Woᵀ + bo) + x);  y = LN(FFN(a) + a)
 * MosaicBERT's FFN is GeGLU with dropout before `wo`; BERT's is dense → GELU → dense → dropout.
 */
export class EncoderLayer {
  private readonly p: string;
  private readonly mosaic: boolean;
  private readonly names: {
    wqkv: string[]; bqkv: string[]; wo: string; bo: string; ln1w: string; ln1b: string;
    w1: string; b1: string | null; w2: string; b2: string; ln2w: string; ln2b: string;
  };

  constructor(private readonly store: ParameterStore, private readonly config: ModelConfig, readonly index: number) {
    this.p = `bert.encoder.layer.${index}.`;
    this.mosaic = config.arch === "mosaic-bert";
    const p = this.p;
    this.names = this.mosaic
      ? {
          wqkv: [`${p}attention.self.Wqkv.weight`], bqkv: [`${p}attention.self.Wqkv.bias`],
          wo: `${p}attention.output.dense.weight`, bo: `${p}attention.output.dense.bias`,
          ln1w: `${p}attention.output.LayerNorm.weight`, ln1b: `${p}attention.output.LayerNorm.bias`,
          w1: `${p}mlp.gated_layers.weight`, b1: null, w2: `${p}mlp.wo.weight`, b2: `${p}mlp.wo.bias`,
          ln2w: `${p}mlp.layernorm.weight`, ln2b: `${p}mlp.layernorm.bias`,
        }
      : {
          wqkv: ["query", "key", "value"].map((n) => `${p}attention.self.${n}.weight`),
          bqkv: ["query", "key", "value"].map((n) => `${p}attention.self.${n}.bias`),
          wo: `${p}attention.output.dense.weight`, bo: `${p}attention.output.dense.bias`,
          ln1w: `${p}attention.output.LayerNorm.weight`, ln1b: `${p}attention.output.LayerNorm.bias`,
          w1: `${p}intermediate.dense.weight`, b1: `${p}intermediate.dense.bias`,
          w2: `${p}output.dense.weight`, b2: `${p}output.dense.bias`,
          ln2w: `${p}output.LayerNorm.weight`, ln2b: `${p}output.LayerNorm.bias`,
        };
  }

  private qkvW(which: "w" | "g"): Tensor {
    const H = this.config.hiddenSize;
    return this.store.span(this.names.wqkv, [3 * H, H], which);
  }

  private qkvB(which: "w" | "g"): Tensor {
    return this.store.span(this.names.bqkv, [3 * this.config.hiddenSize], which);
  }

  /** Consumes nothing: x stays owned by the caller unless the returned saved state holds it. */
  /**
   * With `subset` (packed row indices), everything after the attention core runs only on those rows
   * and y has one row per index: the reference's last-layer trick for MLM, exact because those ops
   * are row-wise while keys and values still come from every token.
   */
  forward(x: Tensor, shared: SharedAttention, run: Run, subset: Tensor | null = null): { y: Tensor; saved: Saved | null } {
    const be = run.backend;
    const s = this.store;
    const n = this.names;
    const c = this.config;
    const eps = c.layerNormEps;
    const qkv = linear(be, x, this.qkvW("w"), this.qkvB("w"));
    const attnDrop = dropoutAt(run, c.attentionProbsDropoutProb, `${this.p}attention.probs`);
    const args: AttentionArgs = { ...shared, dropout: attnDrop };
    const { out: ctx, lse } = be.attention(qkv, args);
    const ctxRows = subset ? be.gatherRows(ctx, subset) : null;
    const xRows = subset ? be.gatherRows(x, subset) : null;
    const outDrop = dropoutAt(run, c.hiddenDropoutProb, `${this.p}attention.output.dropout`);
    const o1 = linear(be, ctxRows ?? ctx, s.w(n.wo), s.w(n.bo));
    // The output dropout rides the add + LayerNorm pass (the mask `dropout` would draw on o1).
    const ln1 = be.addLayerNorm(o1, xRows ?? x, s.w(n.ln1w), s.w(n.ln1b), eps, { dropout: outDrop });
    o1.dispose();
    const a = ln1.y;
    const ffnDrop = dropoutAt(run, c.hiddenDropoutProb, `${this.p}ffn.dropout`);
    let pre: Tensor | null;
    let ffnIn: Tensor;
    let o2: Tensor;
    if (this.mosaic) {
      pre = linear(be, a, s.w(n.w1), null);
      // The FFN dropout rides the GeGLU pass (the same mask `dropout` would draw on its output).
      ffnIn = be.geglu(pre, { dropout: ffnDrop });
      o2 = linear(be, ffnIn, s.w(n.w2), s.w(n.b2));
    } else {
      const I = c.intermediateSize;
      // The pre-activation is for backward only: a pass that keeps nothing does not write it ([T, I], 4H per token).
      pre = run.keep ? be.empty([a.shape[0]!, I], a.dtype) : null;
      ffnIn = be.matmul(a, s.w(n.w1), { transB: true, bias: s.w(n.b1!), activation: "gelu", preActivation: pre });
      o2 = linear(be, ffnIn, s.w(n.w2), s.w(n.b2));
    }
    // BERT's FFN dropout (on o2) rides the add + LayerNorm pass; MosaicBERT's was in the GeGLU pass.
    const ln2 = be.addLayerNorm(o2, a, s.w(n.ln2w), s.w(n.ln2b), eps, { dropout: this.mosaic ? null : ffnDrop });
    o2.dispose();
    if (!run.keep) {
      free(qkv, ctx, lse, ctxRows, xRows, ln1.sum, ln1.mean, ln1.rstd, a, pre, ffnIn, ln2.sum, ln2.mean, ln2.rstd);
      return { y: ln2.y, saved: null };
    }
    return {
      y: ln2.y,
      saved: {
        x, qkv, ctx, subset, ctxRows, xRows, lse, args, attnDrop, outDrop, sum1: ln1.sum, mean1: ln1.mean, rstd1: ln1.rstd, a, pre: pre!, ffnIn, ffnDrop,
        sum2: ln2.sum, mean2: ln2.mean, rstd2: ln2.rstd,
      },
    };
  }

  /** Consumes dy and the saved state (including the saved input x); returns dx. */
  backward(dy: Tensor, sv: Saved, be: Backend): Tensor {
    const s = this.store;
    const n = this.names;
    // FFN block: y = LN2(o2 + a), BERT's o2 dropped inside: drop2.out gets the gradient of o2 before the dropout.
    const drop2 = !this.mosaic && sv.ffnDrop ? { out: be.empty(dy.shape, dy.dtype), dropout: sv.ffnDrop } : null;
    const dsum2 = be.layerNormBackward(dy, sv.sum2, s.w(n.ln2w), sv.mean2, sv.rstd2, { dweight: s.g(n.ln2w), dbias: s.g(n.ln2b), dropoutGrad: drop2 });
    dy.dispose();
    free(sv.sum2, sv.mean2, sv.rstd2);
    let da: Tensor;
    if (this.mosaic) {
      const dffnIn = linearBackward(be, dsum2, sv.ffnIn, s.w(n.w2), s.g(n.w2), s.g(n.b2))!;
      const dg = be.gegluBackward(dffnIn, sv.pre, { dropout: sv.ffnDrop });
      dffnIn.dispose();
      da = linearBackward(be, dg, sv.a, s.w(n.w1), s.g(n.w1), null, { needDx: true, into: dsum2 })!;
      dg.dispose();
    } else {
      const dinter = linearBackward(be, drop2?.out ?? dsum2, sv.ffnIn, s.w(n.w2), s.g(n.w2), s.g(n.b2))!;
      drop2?.out.dispose();
      const dpre = be.geluBackward(dinter, sv.pre);
      dinter.dispose();
      da = linearBackward(be, dpre, sv.a, s.w(n.w1), s.g(n.w1), s.g(n.b1!), { needDx: true, into: dsum2 })!;
      dpre.dispose();
    }
    free(sv.pre, sv.ffnIn, sv.a);
    // Attention block: a = LN1(Dropout(ctx·Woᵀ + bo) + x); drop1.out gets the gradient before the dropout.
    const drop1 = sv.outDrop ? { out: be.empty(da.shape, da.dtype), dropout: sv.outDrop } : null;
    const dsum1 = be.layerNormBackward(da, sv.sum1, s.w(n.ln1w), sv.mean1, sv.rstd1, { dweight: s.g(n.ln1w), dbias: s.g(n.ln1b), dropoutGrad: drop1 });
    da.dispose();
    free(sv.sum1, sv.mean1, sv.rstd1);
    let dctx = linearBackward(be, drop1?.out ?? dsum1, sv.ctxRows ?? sv.ctx, s.w(n.wo), s.g(n.wo), s.g(n.bo))!;
    drop1?.out.dispose();
    const T = sv.x.shape[0]!;
    if (sv.subset) {
      // Rows outside the subset feed the loss only as keys/values: their ctx gradient is zero.
      const full = be.scatterRows(dctx, sv.subset, T);
      dctx.dispose();
      dctx = full;
    }
    const dqkv = be.attentionBackward(dctx, sv.qkv, sv.ctx, sv.lse, sv.args);
    dctx.dispose();
    free(sv.ctx, sv.lse, sv.ctxRows, sv.xRows);
    let dx: Tensor;
    if (sv.subset) {
      dx = linearBackward(be, dqkv, sv.x, this.qkvW("w"), this.qkvW("g"), this.qkvB("g"))!;
      be.scatterAddRows(dsum1, sv.subset, dx);
      dsum1.dispose();
    } else {
      dx = linearBackward(be, dqkv, sv.x, this.qkvW("w"), this.qkvW("g"), this.qkvB("g"), { needDx: true, into: dsum1 })!;
    }
    free(dqkv, sv.qkv, sv.x);
    return dx;
  }
}

