import type { Tensor } from "@mosaicbert/tensor";
import { alibiSlopes } from "./alibi.js";
import type { Batch, Unpadding } from "./batch.js";
import type { ModelConfig } from "./config.js";
import { EncoderLayer, type SharedAttention, layerSpecs } from "./layer.js";
import { type Run, applyDropout, dropoutAt, free } from "./ops.js";
import type { ParamSpec, ParameterStore } from "./params.js";

/** State-dict names of the embeddings and every encoder layer (prefix "bert."). */
export function encoderSpecs(config: ModelConfig): ParamSpec[] {
  const H = config.hiddenSize;
  const specs: ParamSpec[] = [
    { name: "bert.embeddings.word_embeddings.weight", shape: [config.vocabSize, H], init: { embedding: { paddingIdx: config.padTokenId } } },
  ];
  if (config.arch === "bert") {
    specs.push({ name: "bert.embeddings.position_embeddings.weight", shape: [config.maxPositionEmbeddings, H], init: { embedding: { paddingIdx: null } } });
  }
  specs.push(
    { name: "bert.embeddings.token_type_embeddings.weight", shape: [config.typeVocabSize, H], init: { embedding: { paddingIdx: null } } },
    { name: "bert.embeddings.LayerNorm.weight", shape: [H], init: "ones" },
    { name: "bert.embeddings.LayerNorm.bias", shape: [H], init: "zeros" },
  );
  for (let l = 0; l < config.numHiddenLayers; l++) specs.push(...layerSpecs(config, l));
  return specs;
}

/** The packed rows the encoder computed and how they map to the padded [B, S] frame. */
export interface EncoderResult {
  /** [T, H]: MosaicBERT one row per real token (row-major); BERT every padded position (T = B·S). */
  hidden: Tensor;
  /** For BERT an identity layout (indices 0 … B·S−1). */
  layout: Unpadding;
}

interface EmbSaved {
  ids: Tensor;
  types: Tensor;
  pos: Tensor | null;
  sum: Tensor;
  mean: Tensor;
  rstd: Tensor;
  drop: { p: number; seed: number } | null;
}

interface Saved {
  emb: EmbSaved;
  layers: unknown[];
  device: Tensor[];
}

/**
 * Embeddings + encoder layers with explicit forward/backward. MosaicBERT runs on the unpadded
 * tokens (attention in the padded frame through ALiBi positions); BERT runs every padded position
 * with the attention mask as key mask, as transformers does.
 */
export class Encoder {
  readonly layers: EncoderLayer[];
  private saved: Saved | null = null;
  private readonly slopes: Float32Array | null;
  /** Flat-buffer offset of each layer's first parameter (layers are stored in order, after the embeddings). */
  private readonly layerStarts: number[];

  constructor(private readonly store: ParameterStore, readonly config: ModelConfig) {
    this.layers = Array.from({ length: config.numHiddenLayers }, (_, l) => new EncoderLayer(store, config, l));
    this.layerStarts = this.layers.map((_, l) => store.get(layerSpecs(config, l)[0]!.name).offset);
    this.slopes = config.arch === "mosaic-bert" ? alibiSlopes(config.numAttentionHeads) : null;
  }

  /**
   * Runs the validated batch on `layout` (`batchLayout(batch, arch)`). `lastLayerRows` may name the
   * packed rows the last layer should output (then `hidden` has one row per index, in that order).
   */
  forward(batch: Batch, layout: Unpadding, run: Run, lastLayerRows: Int32Array | null = null): EncoderResult {
    const be = run.backend;
    const s = this.store;
    const c = this.config;
    const B = layout.batchSize;
    const mosaic = c.arch === "mosaic-bert";
    const T = layout.total;
    const idsHost = new Int32Array(T);
    const typesHost = new Int32Array(T);
    for (let t = 0; t < T; t++) {
      const i = layout.indices[t]!;
      idsHost[t] = batch.inputIds[i]!;
      typesHost[t] = batch.tokenTypeIds ? batch.tokenTypeIds[i]! : 0;
    }
    const ids = be.fromArray(idsHost, [T], "i32");
    const types = be.fromArray(typesHost, [T], "i32");
    const device: Tensor[] = [];
    const cuSeqlens = be.fromArray(layout.cuSeqlens, [B + 1], "i32");
    device.push(cuSeqlens);
    const shared: SharedAttention = { numHeads: c.numAttentionHeads, cuSeqlens, maxSeqlen: layout.maxSeqlen };
    let pos: Tensor | null = null;
    if (mosaic) {
      shared.slopes = this.slopes;
      // Only holes or left padding need explicit positions: otherwise row offsets are the positions.
      if (!layout.rightPadded) {
        const positions = be.fromArray(layout.positions, [T], "i32");
        device.push(positions);
        shared.positions = positions;
      }
    } else {
      pos = be.fromArray(layout.positions, [T], "i32");
      if (batch.attentionMask) {
        const keyMask = be.fromArray(batch.attentionMask, [T], "i32");
        device.push(keyMask);
        shared.keyMask = keyMask;
      }
    }
    // Embeddings: word (+ position) + token type, LayerNorm, dropout.
    let e = be.embedding(ids, s.w("bert.embeddings.word_embeddings.weight"));
    if (pos) {
      const pe = be.embedding(pos, s.w("bert.embeddings.position_embeddings.weight"));
      be.addInPlace(e, pe);
      pe.dispose();
    }
    const te = be.embedding(types, s.w("bert.embeddings.token_type_embeddings.weight"));
    const ln = be.addLayerNorm(e, te, s.w("bert.embeddings.LayerNorm.weight"), s.w("bert.embeddings.LayerNorm.bias"), c.layerNormEps);
    free(e, te);
    const drop = dropoutAt(run, c.hiddenDropoutProb, "bert.embeddings.dropout");
    let x = applyDropout(be, ln.y, drop);
    const subset = lastLayerRows ? be.fromArray(lastLayerRows, [lastLayerRows.length], "i32") : null;
    if (subset) device.push(subset);
    const layerSaved: unknown[] = [];
    for (const layer of this.layers) {
      const { y, saved } = layer.forward(x, shared, run, layer === this.layers[this.layers.length - 1] ? subset : null);
      if (saved) layerSaved.push(saved);
      else x.dispose();
      x = y;
    }
    if (run.keep) {
      this.saved = { emb: { ids, types, pos, sum: ln.sum, mean: ln.mean, rstd: ln.rstd, drop }, layers: layerSaved, device };
    } else {
      free(ids, types, pos, ln.sum, ln.mean, ln.rstd, ...device);
    }
    return { hidden: x, layout };
  }

  /**
   * Consumes dHidden [T, H] and the saved activations; accumulates every parameter gradient.
   * `onGradsReady(frontier)` is called after each layer's backward has been queued: from then on
   * no queued work writes the flat gradients at offsets ≥ frontier (what DDP needs to start
   * reducing them). The last call, after the embeddings, has frontier 0.
   */
  backward(dHidden: Tensor, run: Pick<Run, "backend"> & { onGradsReady?: (frontier: number) => void }): void {
    const sv = this.saved;
    if (!sv) throw new Error("Encoder.backward: no saved forward pass (call forward with training or grad enabled first)");
    this.saved = null;
    const be = run.backend;
    const s = this.store;
    let d = dHidden;
    for (let l = this.layers.length - 1; l >= 0; l--) {
      d = this.layers[l]!.backward(d, sv.layers[l] as never, be);
      run.onGradsReady?.(this.layerStarts[l]!);
    }
    const e = sv.emb;
    const dln = e.drop ? be.dropoutBackward(d, e.drop) : d;
    if (dln !== d) d.dispose();
    const dsum = be.layerNormBackward(dln, e.sum, s.w("bert.embeddings.LayerNorm.weight"), e.mean, e.rstd, {
      dweight: s.g("bert.embeddings.LayerNorm.weight"),
      dbias: s.g("bert.embeddings.LayerNorm.bias"),
    });
    dln.dispose();
    be.embeddingBackward(e.ids, dsum, s.g("bert.embeddings.word_embeddings.weight"), { paddingIdx: this.config.padTokenId });
    be.embeddingBackward(e.types, dsum, s.g("bert.embeddings.token_type_embeddings.weight"), { paddingIdx: null });
    if (e.pos) be.embeddingBackward(e.pos, dsum, s.g("bert.embeddings.position_embeddings.weight"), { paddingIdx: null });
    free(dsum, e.ids, e.types, e.pos, e.sum, e.mean, e.rstd, ...sv.device);
    run.onGradsReady?.(0);
  }

  /** Drops saved activations without running backward (e.g. an evaluation pass that kept them). */
  release(): void {
    const sv = this.saved;
    if (!sv) return;
    this.saved = null;
    for (const ls of sv.layers) {
      for (const v of Object.values(ls as Record<string, unknown>)) {
        if (v && typeof v === "object" && "dispose" in v) (v as Tensor).dispose();
      }
    }
    const e = sv.emb;
    free(e.ids, e.types, e.pos, e.sum, e.mean, e.rstd, ...sv.device);
  }
}
