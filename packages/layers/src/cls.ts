import type { Backend, Tensor } from "@mosaicbert/tensor";
import { type Batch, batchLayout } from "./batch.js";
import type { ModelConfig } from "./config.js";
import { ConfigError, InputError } from "./errors.js";
import { ClassifierHead, classifierSpecs } from "./heads.js";
import { copyAs, withShape } from "./ops.js";
import { assertArch } from "./mlm.js";
import { type ForwardOptions, ModelBase, type ModelOptions } from "./model.js";

export interface SequenceClassifierOutput {
  /** float32 [1]: cross-entropy (num_labels > 1) or MSE (num_labels 1); null without labels. */
  loss: Tensor | null;
  /** [B, numLabels]. */
  logits: Tensor;
  /** [B, S, H] when `outputHiddenStates`. */
  lastHiddenState: Tensor | null;
}

interface ClsSaved {
  dlogits: Tensor;
  indices: Tensor | null;
  B: number;
  S: number;
}

/**
 * Sequence classification (MosaicBERT or BERT per config.arch): pooler tanh(dense(h[:, 0])) →
 * dropout → classifier. Loss as transformers: num_labels 1 → MSE regression, else cross-entropy.
 * problem_type multi_label_classification runs without labels (inference); with labels it throws (no BCE loss).
 */
export class ForSequenceClassification extends ModelBase {
  private readonly head: ClassifierHead;
  private saved: ClsSaved | null = null;

  constructor(config: ModelConfig, backend: Backend, opts: ModelOptions = {}) {
    super(config, backend, classifierSpecs(config), opts);
    this.head = new ClassifierHead(this.store, config);
  }

  forward(batch: Batch, opts: ForwardOptions = {}): SequenceClassifierOutput {
    this.check(batch, "cls");
    this.release();
    const be = this.backend;
    const run = this.run(opts);
    const labels = batch.labels ?? null;
    if (run.keep && !labels) throw new InputError("labels", "required to compute gradients (forward with grad or training)");
    if (labels && this.config.problemType === "multi_label_classification") {
      // The forward is that of any classifier (inference gives per-label sigmoid probabilities); only the loss differs.
      throw new ConfigError(
        "problem_type",
        "multi_label_classification: its loss (BCE with logits over per-label 0/1 targets) is not supported, so the model cannot be trained or evaluated with labels; it runs for inference without labels. Expected single_label_classification or regression to train",
        this.configFile,
      );
    }
    const { hidden, layout } = this.encoder.forward(batch, batchLayout(batch, this.config.arch), run);
    const { batchSize: B, seqLen: S } = layout;
    const H = this.config.hiddenSize;
    const mosaic = this.config.arch === "mosaic-bert";
    const indices = mosaic ? be.fromArray(layout.indices, [layout.total], "i32") : null;
    // The pooler reads position 0 of the padded output (a zero row under left padding, as in the reference).
    const full = mosaic ? be.scatterRows(hidden, indices!, B * S) : hidden;
    const firstIdx = be.fromArray(Int32Array.from({ length: B }, (_, b) => b * S), [B], "i32");
    const first = be.gatherRows(full, firstIdx);
    firstIdx.dispose();
    let lastHiddenState: Tensor | null = null;
    if (opts.outputHiddenStates) lastHiddenState = copyAs(be, full, [B, S, H]);
    full.dispose();
    if (full !== hidden) hidden.dispose();
    const logits = this.head.forward(first, run);
    if (!run.keep) {
      first.dispose();
      indices?.dispose();
    }
    if (!labels) return { loss: null, logits, lastHiddenState };
    const C = this.config.numLabels;
    // Losses are computed in float32 whatever the compute dtype (the logits are tiny).
    const logits32 = logits.dtype === "f32" ? logits : be.cast(logits, "f32");
    let loss: Tensor;
    let grad: Tensor | undefined;
    if (C === 1) {
      const target = be.fromArray(Float32Array.from(labels), [B], "f32");
      const r = be.mse(logits32.reshape([B]), target, { computeGrad: run.keep, gradScale: opts.gradScale ?? 1 });
      target.dispose();
      loss = r.loss;
      grad = r.grad ? withShape(be, r.grad, [B, 1]) : undefined;
    } else {
      const target = be.fromArray(Int32Array.from(labels), [B], "i32");
      const r = be.crossEntropy(logits32, target, { computeGrad: run.keep, gradScale: opts.gradScale ?? 1 });
      target.dispose();
      loss = r.loss;
      grad = r.grad;
    }
    if (logits32 !== logits) logits32.dispose();
    if (run.keep && grad) {
      const dlogits = grad.dtype === logits.dtype ? grad : be.cast(grad, logits.dtype);
      if (dlogits !== grad) grad.dispose();
      this.saved = { dlogits, indices, B, S };
    }
    return { loss, logits, lastHiddenState };
  }

  /** Backpropagates the last forward's loss (× gradScale) into `flat.grads` (accumulated). */
  backward(): void {
    const sv = this.saved;
    if (!sv) throw new Error("backward: no saved forward pass (call forward with training or grad enabled and labels)");
    this.saved = null;
    const be = this.backend;
    const dfirst = this.head.backward(sv.dlogits, be);
    const firstIdx = be.fromArray(Int32Array.from({ length: sv.B }, (_, b) => b * sv.S), [sv.B], "i32");
    const dfull = be.scatterRows(dfirst, firstIdx, sv.B * sv.S);
    firstIdx.dispose();
    dfirst.dispose();
    let dHidden = dfull;
    if (sv.indices) {
      dHidden = be.gatherRows(dfull, sv.indices);
      dfull.dispose();
      sv.indices.dispose();
    }
    this.encoder.backward(dHidden, { backend: be });
  }

  release(): void {
    if (this.saved) {
      this.saved.dlogits.dispose();
      this.saved.indices?.dispose();
      this.saved = null;
    }
    this.head.release();
    this.encoder.release();
  }
}

/** MosaicBERT sequence classifier (reference `bert_layers.BertForSequenceClassification`). */
export class MosaicBertForSequenceClassification extends ForSequenceClassification {
  constructor(config: ModelConfig, backend: Backend, opts: ModelOptions = {}) {
    assertArch(config, "mosaic-bert", "MosaicBertForSequenceClassification");
    super(config, backend, opts);
  }
}

/** The BERT baseline's classifier (transformers `BertForSequenceClassification`). */
export class BertForSequenceClassification extends ForSequenceClassification {
  constructor(config: ModelConfig, backend: Backend, opts: ModelOptions = {}) {
    assertArch(config, "bert", "BertForSequenceClassification");
    super(config, backend, opts);
  }
}
