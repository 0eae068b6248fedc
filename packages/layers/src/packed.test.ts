import { cpu } from "@mosaicbert/tensor";
import { describe, expect, it } from "vitest";
import { createModel } from "./factory.js";
import { preset } from "./presets.js";

// EncoderModel.forwardPacked (the embedder's pooling input) against forward's last_hidden_state, both
// architectures: the same rows without the padding, and [CLS] rows from a last layer that computes only them.
describe("EncoderModel.forwardPacked", () => {
  const B = 3;
  const S = 9;
  const lens = [9, 4, 6];
  const inputIds = new Int32Array(B * S);
  const attentionMask = new Int32Array(B * S);
  lens.forEach((n, b) => {
    for (let s = 0; s < n; s++) {
      inputIds[b * S + s] = s === 0 ? 101 : s === n - 1 ? 102 : 2000 + ((b * 31 + s * 7) % 500);
      attentionMask[b * S + s] = 1;
    }
  });
  const batch = { inputIds, attentionMask, tokenTypeIds: new Int32Array(B * S), batchSize: B, seqLen: S };

  const configs = {
    "mosaic-bert": preset("tiny", { vocabSize: 3000 }),
    bert: preset("bert-base", { numHiddenLayers: 2, vocabSize: 3000, hiddenSize: 64, numAttentionHeads: 4, intermediateSize: 128 }),
  };
  for (const [name, config] of Object.entries(configs)) {
    it(`${name}: the encoder's rows are last_hidden_state's rows at the layout's positions; firstTokens gives each [CLS] row`, () => {
      const model = createModel(config, "encoder", cpu, { seed: 3 });
      const H = model.config.hiddenSize;
      const full = model.forward(batch).lastHiddenState.toArray() as Float32Array;
      const { hidden, layout } = model.forwardPacked(batch);
      const rows = hidden.toArray() as Float32Array;
      expect(hidden.shape).toEqual([layout.total, H]);
      expect(layout.total).toBe(name === "mosaic-bert" ? 19 : B * S);
      for (let t = 0; t < layout.total; t++) {
        const i = layout.indices[t]!;
        expect(Array.from(rows.subarray(t * H, (t + 1) * H))).toEqual(Array.from(full.subarray(i * H, (i + 1) * H)));
      }
      const first = model.forwardPacked(batch, { firstTokens: true }).hidden;
      expect(first.shape).toEqual([B, H]);
      const f = first.toArray() as Float32Array;
      for (let b = 0; b < B; b++) {
        const want = full.subarray(b * S * H, b * S * H + H);
        for (let k = 0; k < H; k++) expect(f[b * H + k]).toBeCloseTo(want[k]!, 5);
      }
      model.dispose();
    });
  }

  it("firstTokens on left-padded rows: each row's first real token", () => {
    for (const config of Object.values(configs)) {
      const model = createModel(config, "encoder", cpu, { seed: 3 });
      const H = model.config.hiddenSize;
      // Row 1 holds its 4 tokens at the end of the row instead of the start.
      const ids = inputIds.slice();
      const mask = attentionMask.slice();
      ids.fill(0, S, 2 * S);
      mask.fill(0, S, 2 * S);
      ids.set(inputIds.subarray(S, S + 4), 2 * S - 4);
      mask.fill(1, 2 * S - 4, 2 * S);
      const left = { ...batch, inputIds: ids, attentionMask: mask };
      const full = model.forward(left).lastHiddenState.toArray() as Float32Array;
      const f = model.forwardPacked(left, { firstTokens: true }).hidden.toArray() as Float32Array;
      const at = (2 * S - 4) * H;
      for (let k = 0; k < H; k++) expect(f[H + k]).toBeCloseTo(full[at + k]!, 5);
      model.dispose();
    }
  });

  it("a row without a real token is refused before anything runs", () => {
    const model = createModel(configs["mosaic-bert"], "encoder", cpu, { seed: 3 });
    const mask = attentionMask.slice();
    mask.fill(0, S, 2 * S);
    expect(() => model.forwardPacked({ ...batch, attentionMask: mask }, { firstTokens: true })).toThrow(/attentionMask \(row 1\): row has no real token/);
    model.dispose();
  });
});
