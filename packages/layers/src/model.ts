import type { Backend, Tensor } from "@mosaicbert/tensor";
import { type Batch, type Unpadding, batchLayout, validateBatch } from "./batch.js";
import { type LoadOptions, type StateDict, loadInto } from "./checkpoint.js";
import type { ModelConfig } from "./config.js";
import { Encoder, encoderSpecs } from "./encoder.js";
import { WORD_EMBEDDINGS } from "./heads.js";
import { type Run, copyAs } from "./ops.js";
import { type ComputeDtype, type FlatBuffers, type ParamSpec, type Parameter, ParameterStore } from "./params.js";

export interface ModelOptions {
  /** "bf16": forward/backward compute with a bf16 copy of the weights; master weights and grads stay f32. */
  computeDtype?: ComputeDtype;
  /** Seed of the reference initialisation (spec §5). Default 0. */
  seed?: number;
  /** The config.json the config was read from, named by the ConfigErrors the model raises (loadPretrained sets it). */
  configFile?: string;
}

export interface ForwardOptions {
  /** Dropout active (default false = eval mode). */
  training?: boolean;
  /** Dropout seed of this call; each dropout site derives its own from it (default 0). */
  seed?: number;
  /** Keep activations for backward() (default: `training`). Needs labels. */
  grad?: boolean;
  /** Multiplies the loss gradient, e.g. 1/microbatches (default 1). */
  gradScale?: number;
  /** Also return lastHiddenState [B, S, H]. */
  outputHiddenStates?: boolean;
  /** Return the logits (default true). With false and grad, the loss gradient overwrites them in place. */
  returnLogits?: boolean;
}

/**
 * Shared machinery of every model: one ParameterStore (flat f32 params, flat f32 grads, optional
 * flat bf16 copy), state-dict access with the reference names, and the encoder.
 */
export abstract class ModelBase {
  readonly store: ParameterStore;
  readonly backend: Backend;
  readonly computeDtype: ComputeDtype;
  protected readonly encoder: Encoder;
  /** ModelOptions.configFile. */
  protected readonly configFile: string | undefined;

  protected constructor(readonly config: ModelConfig, backend: Backend, headSpecs: ParamSpec[], opts: ModelOptions) {
    this.backend = backend;
    this.computeDtype = opts.computeDtype ?? "f32";
    this.configFile = opts.configFile;
    this.store = new ParameterStore(backend, [...encoderSpecs(config), ...headSpecs], this.computeDtype);
    this.store.initialize(opts.seed ?? 0, config.initializerRange);
    this.encoder = new Encoder(this.store, config);
  }

  /** name → {param (f32), grad (f32), lowp (bf16 or null)}, in state-dict order; the tied decoder weight is not repeated. */
  parameters(): Map<string, Parameter> {
    return this.store.parameters();
  }

  /** The flat buffers every parameter and gradient is a view of (one AdamW / norm / all-reduce call each). */
  get flat(): FlatBuffers {
    return this.store.flat;
  }

  /** Number of parameters (tied weights counted once), as PyTorch's sum of numel over parameters(). */
  numParameters(): number {
    return this.store.count();
  }

  /** Whether the tied decoder weight is part of this model's state dict. */
  protected hasTiedDecoder(): boolean {
    return false;
  }

  /**
   * The state dict as float32 tensor views into the master weights (no copies), reference names.
   * `includeTied` adds `cls.predictions.decoder.weight` (the word embeddings), as torch.save does.
   */
  stateDict(opts: { includeTied?: boolean } = {}): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    for (const [name, p] of this.store.parameters()) out.set(name, p.param);
    if (opts.includeTied && this.hasTiedDecoder()) out.set("cls.predictions.decoder.weight", this.store.get(WORD_EMBEDDINGS).param);
    return out;
  }

  /** The state dict copied to the host. */
  stateDictHost(opts: { includeTied?: boolean } = {}): StateDict {
    const all = this.backend.read(this.store.flat.params) as Float32Array;
    const out: StateDict = new Map();
    for (const [name, t] of this.stateDict(opts)) {
      const p = this.store.get(name === "cls.predictions.decoder.weight" ? WORD_EMBEDDINGS : name);
      out.set(name, { shape: [...t.shape], data: all.slice(p.offset, p.offset + p.size) });
    }
    return out;
  }

  /** Loads reference-named host tensors (strict; see LoadOptions). Refreshes the bf16 copy. */
  loadStateDict(sd: StateDict, opts: LoadOptions = {}): void {
    loadInto(this.store, this.config, sd, opts);
  }

  zeroGrad(): void {
    this.store.zeroGrad();
  }

  /** Refreshes the bf16 compute copy after the master weights changed (the optimizer may do it itself). */
  syncLowp(): void {
    this.store.syncLowp();
  }

  /** Drops activations saved by a forward pass whose backward will not run. */
  abstract release(): void;

  dispose(): void {
    this.release();
    this.store.dispose();
  }

  protected run(opts: ForwardOptions): Run {
    const training = opts.training ?? false;
    return { backend: this.backend, training, seed: opts.seed ?? 0, keep: opts.grad ?? training };
  }

  /** [T, H] packed rows → [B, S, H] padded (zeros at padded slots for MosaicBERT). Does not consume. */
  protected repad(hidden: Tensor, layout: Unpadding, indices: Tensor | null): Tensor {
    const { batchSize: B, seqLen: S } = layout;
    const H = this.config.hiddenSize;
    if (this.config.arch === "bert") return copyAs(this.backend, hidden, [B, S, H]);
    const out = this.backend.zeros([B, S, H], hidden.dtype);
    this.backend.scatterAddRows(hidden, indices!, out);
    return out;
  }

  protected check(batch: Batch, task: "mlm" | "cls" | "none"): void {
    validateBatch(batch, this.config, task);
  }
}

/** Encoder only (no pooler): returns last_hidden_state. */
export class EncoderModel extends ModelBase {
  private layout: Unpadding | null = null;
  private indices: Tensor | null = null;

  constructor(config: ModelConfig, backend: Backend, opts: ModelOptions = {}) {
    super(config, backend, [], opts);
  }

  /** lastHiddenState [B, S, H]: padded rows zero for MosaicBERT, computed for BERT. */
  forward(batch: Batch, opts: ForwardOptions = {}): { lastHiddenState: Tensor } {
    this.check(batch, "none");
    this.release();
    const run = this.run(opts);
    const { hidden, layout } = this.encoder.forward(batch, batchLayout(batch, this.config.arch), run);
    const indices = this.backend.fromArray(layout.indices, [layout.total], "i32");
    const out = this.repad(hidden, layout, indices);
    hidden.dispose();
    if (run.keep) {
      this.layout = layout;
      this.indices = indices;
    } else indices.dispose();
    return { lastHiddenState: out };
  }

  /**
   * For pooling (no gradients): the last hidden states in the encoder's own row order, not padded back —
   * `layout` says which row is which (MosaicBERT: the real tokens packed; BERT: every position) — or with
   * `firstTokens`, only each row's first token ([CLS]), [B, H], which the last layer then computes alone.
   */
  forwardPacked(batch: Batch, o: { firstTokens?: boolean } = {}): { hidden: Tensor; layout: Unpadding } {
    this.check(batch, "none");
    this.release();
    const layout = batchLayout(batch, this.config.arch);
    // Each row's first real token (validateBatch: every row has one): MosaicBERT packs only real tokens, so it is
    // at cuSeqlens[b]; BERT keeps every position, and a left-padded row starts later.
    let rows: Int32Array | null = null;
    if (o.firstTokens) {
      rows = new Int32Array(layout.batchSize);
      for (let b = 0; b < layout.batchSize; b++) {
        let t = layout.cuSeqlens[b]!;
        while (batch.attentionMask && batch.attentionMask[layout.indices[t]!] === 0) t++;
        rows[b] = t;
      }
    }
    const { hidden } = this.encoder.forward(batch, layout, this.run({}), rows);
    return { hidden, layout };
  }

  /** Consumes dLastHidden [B, S, H]; gradients at padded MosaicBERT rows are ignored (those rows are constant zeros). */
  backward(dLastHidden: Tensor): void {
    if (!this.layout || !this.indices) throw new Error("backward: no saved forward pass (forward with training or grad enabled)");
    const H = this.config.hiddenSize;
    const d2 = dLastHidden.reshape([-1, H]);
    const dh = this.config.arch === "bert" ? this.backend.cast(d2, d2.dtype) : this.backend.gatherRows(d2, this.indices);
    dLastHidden.dispose();
    this.indices.dispose();
    this.indices = null;
    this.layout = null;
    this.encoder.backward(dh, { backend: this.backend });
  }

  release(): void {
    this.encoder.release();
    this.indices?.dispose();
    this.indices = null;
    this.layout = null;
  }
}
