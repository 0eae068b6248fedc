import type { Backend, Tensor } from "@mosaicbert/tensor";
import { type Batch, type Unpadding, batchLayout } from "./batch.js";
import type { ModelConfig } from "./config.js";
import { InputError } from "./errors.js";
import { MlmHead, checkMlmHeadActivation, mlmHeadSpecs } from "./heads.js";
import { withShape } from "./ops.js";
import { type ForwardOptions, ModelBase, type ModelOptions } from "./model.js";

export interface MaskedLMOutput {
  /** float32 [1]: mean cross-entropy over the predicted positions (0 when there are none); null without labels. */
  loss: Tensor | null;
  /**
   * With labels: [n, V] at the predicted positions, in row-major (batch, position) order.
   * Without labels: [B, S, V] for every position (the head runs on the re-padded output, as the reference does).
   * Null when `returnLogits` is false.
   */
  logits: Tensor | null;
  /** With labels: flat padded index b·S + s of each logits row. */
  predictedPositions: Int32Array | null;
  /** Number of predicted positions (the loss denominator). */
  numPredicted: number;
  /** [B, S, H] when `outputHiddenStates`. */
  lastHiddenState: Tensor | null;
}

interface MlmSaved {
  dlogits: Tensor | null;
  rows: Tensor | null;
  total: number;
}

/**
 * Masked-LM model (MosaicBERT or the BERT baseline, per config.arch). With labels the head runs only
 * on the predicted rows — MosaicBERT: label > 0, BERT: label ≠ −100 — and the loss is their mean
 * cross-entropy; `backward()` then accumulates every parameter's gradient into `flat.grads`.
 */
export class ForMaskedLM extends ModelBase {
  private readonly head: MlmHead;
  private saved: MlmSaved | null = null;

  constructor(config: ModelConfig, backend: Backend, opts: ModelOptions = {}) {
    checkMlmHeadActivation(config, opts.configFile); // before any parameter is allocated
    super(config, backend, mlmHeadSpecs(config), opts);
    this.head = new MlmHead(this.store, config, opts.configFile);
  }

  protected override hasTiedDecoder(): boolean {
    return true;
  }

  forward(batch: Batch, opts: ForwardOptions = {}): MaskedLMOutput {
    this.check(batch, "mlm");
    this.release();
    const be = this.backend;
    const run = this.run(opts);
    const labels = batch.labels ?? null;
    if (run.keep && !labels) throw new InputError("labels", "required to compute gradients (forward with grad or training)");
    const mosaic = this.config.arch === "mosaic-bert";
    const layout = batchLayout(batch, this.config.arch);
    // The packed rows the head predicts, chosen before the encoder runs.
    const selected = labels ? predictedRows(batch, layout, mosaic) : null;
    // Without a full hidden-state output, the last layer runs only on the predicted rows (spec §3.5).
    const subsetLast = selected !== null && !opts.outputHiddenStates;
    const { hidden } = this.encoder.forward(batch, layout, run, subsetLast && selected.length > 0 ? selected : null);
    let lastHiddenState: Tensor | null = null;
    let indices: Tensor | null = null;
    const needIndices = mosaic && (opts.outputHiddenStates || !labels);
    if (needIndices) indices = be.fromArray(layout.indices, [layout.total], "i32");
    if (opts.outputHiddenStates) lastHiddenState = this.repad(hidden, layout, indices);
    const V = this.config.vocabSize;
    const { batchSize: B, seqLen: S } = layout;
    if (!labels) {
      const full = mosaic ? be.scatterRows(hidden, indices!, B * S) : hidden;
      if (full !== hidden) hidden.dispose();
      indices?.dispose();
      const logits = this.head.forward(full, run);
      full.dispose();
      return { loss: null, logits: withShape(be, logits, [B, S, V]), predictedPositions: null, numPredicted: 0, lastHiddenState };
    }
    indices?.dispose();
    const n = selected!.length;
    const predictedPositions = Int32Array.from(selected!, (t) => layout.indices[t]!);
    const targetsHost = Int32Array.from(predictedPositions, (p) => labels[p]!);
    if (n === 0) {
      // Nothing to predict: zero loss and no gradient (PyTorch would give NaN).
      hidden.dispose();
      this.encoder.release();
      // backward() is then a no-op (a training loop calls it for every microbatch).
      if (run.keep) this.saved = { dlogits: null, rows: null, total: layout.total };
      const logits = opts.returnLogits === false ? null : be.zeros([0, V], hidden.dtype);
      return { loss: be.zeros([1], "f32"), logits, predictedPositions, numPredicted: 0, lastHiddenState };
    }
    // With the last-layer subset the encoder already returned exactly the predicted rows.
    const gathered = hidden.shape[0] !== n || !subsetLast;
    const rows = gathered ? be.fromArray(selected!, [n], "i32") : null;
    const h = rows ? be.gatherRows(hidden, rows) : hidden;
    if (h !== hidden) hidden.dispose();
    const logits = this.head.forward(h, run);
    if (!run.keep) h.dispose();
    const targets = be.fromArray(targetsHost, [n], "i32");
    const inPlace = run.keep && opts.returnLogits === false;
    const ce = be.crossEntropy(logits, targets, { computeGrad: run.keep, gradScale: opts.gradScale ?? 1, inPlace, ignoreIndex: -100 });
    targets.dispose();
    if (run.keep) this.saved = { dlogits: ce.grad ?? null, rows, total: layout.total };
    else rows?.dispose();
    let outLogits: Tensor | null = logits;
    if (opts.returnLogits === false) {
      if (!inPlace) logits.dispose();
      outLogits = null;
    }
    return { loss: ce.loss, logits: outLogits, predictedPositions, numPredicted: n, lastHiddenState };
  }

  /**
   * Backpropagates the last forward's loss (× gradScale) into `flat.grads` (accumulated).
   * `onGradsReady(frontier)`: flat gradients at offsets ≥ frontier are final from that point of the
   * queued work on (called in decreasing frontier order, last with 0); the tied decoder weight is the
   * word embedding, stored first, so it is final only at 0.
   */
  backward(opts: { onGradsReady?: (frontier: number) => void } = {}): void {
    const sv = this.saved;
    if (!sv) throw new Error("backward: no saved forward pass (call forward with training or grad enabled and labels)");
    this.saved = null;
    const be = this.backend;
    if (!sv.dlogits) {
      opts.onGradsReady?.(0);
      return;
    }
    const dh = this.head.backward(sv.dlogits, be);
    let dHidden = dh;
    if (sv.rows) {
      dHidden = be.scatterRows(dh, sv.rows, sv.total);
      dh.dispose();
      sv.rows.dispose();
    }
    this.encoder.backward(dHidden, { backend: be, onGradsReady: opts.onGradsReady });
  }

  release(): void {
    if (this.saved) {
      this.saved.dlogits?.dispose();
      this.saved.rows?.dispose();
      this.saved = null;
    }
    this.head.release();
    this.encoder.release();
  }
}

/**
 * The packed rows (indices into `layout`) the MLM head predicts, in order: MosaicBERT label > 0 (the
 * reference), BERT label ≠ −100 (transformers). From the batch's `maskedPositions` when it has them (the
 * collator's), else from a scan of the labels.
 */
export function predictedRows(batch: Batch, layout: Unpadding, mosaic: boolean): Int32Array {
  const labels = batch.labels!;
  const keep = (p: number) => (mosaic ? labels[p]! > 0 : labels[p] !== -100);
  const rows: number[] = [];
  const masked = batch.maskedPositions;
  if (masked) {
    // Both lists increase: one walk maps each masked position to its packed row.
    const idx = layout.indices;
    for (let k = 0, t = 0; k < masked.length; k++) {
      const p = masked[k]!;
      while (idx[t]! < p) t++;
      if (keep(p)) rows.push(t);
    }
  } else {
    for (let t = 0; t < layout.total; t++) if (keep(layout.indices[t]!)) rows.push(t);
  }
  return Int32Array.from(rows);
}

function assertArch(config: ModelConfig, arch: ModelConfig["arch"], cls: string): void {
  if (config.arch !== arch) {
    throw new Error(`${cls} needs a ${arch} config, got ${config.arch} (MosaicBERT configs carry alibi_starting_size)`);
  }
}

/** MosaicBERT pretraining model (reference `bert_layers.BertForMaskedLM`). */
export class MosaicBertForMaskedLM extends ForMaskedLM {
  constructor(config: ModelConfig, backend: Backend, opts: ModelOptions = {}) {
    assertArch(config, "mosaic-bert", "MosaicBertForMaskedLM");
    super(config, backend, opts);
  }
}

/** The Hugging Face BERT baseline (transformers `BertForMaskedLM`). */
export class BertForMaskedLM extends ForMaskedLM {
  constructor(config: ModelConfig, backend: Backend, opts: ModelOptions = {}) {
    assertArch(config, "bert", "BertForMaskedLM");
    super(config, backend, opts);
  }
}

export { assertArch };
