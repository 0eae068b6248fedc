import { describe, expect, it } from "vitest";
import { preset } from "@mosaicbert/layers";
import { batchCost, trainFlops } from "./flops.js";

// Hand counts for a tiny config (H 4, I 6, 2 layers, vocab 10), two rows of lengths 3 and 2 padded to 4,
// two predicted positions. A matmul [m, k]·[k, n] is 2·m·k·n FLOPs; training is 3× the forward.
const cfg = (arch: "mosaic-bert" | "bert") =>
  preset("tiny", { hiddenSize: 4, intermediateSize: 6, numHiddenLayers: 2, numAttentionHeads: 1, vocabSize: 10, ...(arch === "bert" ? { arch: "bert", alibiStartingSize: null } : {}) });
// The collator's layout of mask [1, 1, 1, 0, 1, 1, 0, 0]: the cost reads it, never the mask.
const batch = { batchSize: 2, cuSeqlens: Int32Array.from([0, 3, 5]), labels: Int32Array.from([-100, 7, -100, -100, 3, -100, -100, -100]), maskedPositions: Int32Array.from([1, 4]) };

describe("trainFlops (hand count)", () => {
  it("counts the batch: real tokens, Σ length², predicted positions", () => {
    expect(batchCost(batch)).toEqual({ realTokens: 5, sumSqLen: 13, predicted: 2 });
  });

  it("MosaicBERT: unpadded tokens, the last layer's output projection and GLU on the predicted rows only", () => {
    // Per token and layer: QKV 2·4·12 = 96, output projection 2·4·4 = 32, GLU 2·4·12 + 2·6·4 = 144.
    // Attention per layer: QKᵀ and PV, 2·2·4·(3² + 2²) = 208.
    // Layer 1: 5·(96 + 32 + 144) + 208 = 1568. Layer 2: 5·96 + 208 + 2·(32 + 144) = 1040.
    // Head on 2 rows: dense 2·4·4 + decoder 2·4·10 = 112 each, 224.
    expect(trainFlops(cfg("mosaic-bert"), batchCost(batch), 8, 4, 2)).toBe(3 * (1568 + 1040 + 224));
  });

  it("BERT: every padded position, the last layer's output projection and FFN on the predicted rows only", () => {
    // Per token and layer: QKV 96, output projection 32, FFN 2·4·6 + 2·6·4 = 96. Attention 2·2·4·(2·4²) = 512.
    // Layer 1: 8·(96 + 32 + 96) + 512 = 2304. Layer 2: 8·96 + 512 + 2·(32 + 96) = 1536. Head 224.
    expect(trainFlops(cfg("bert"), batchCost(batch), 8, 4, 2)).toBe(3 * (2304 + 1536 + 224));
  });

  it("a batch without predicted rows runs the last layer whole", () => {
    const none = { ...batch, labels: new Int32Array(8).fill(-100), maskedPositions: new Int32Array(0) };
    expect(trainFlops(cfg("mosaic-bert"), batchCost(none), 8, 4, 2)).toBe(3 * 2 * 1568);
  });

  it("at base size and 30% masking the last-layer saving is about 4% of the count", () => {
    const base = preset("mosaic-bert-base");
    const cost = { realTokens: 256 * 128, sumSqLen: 256 * 128 * 128, predicted: Math.round(0.3 * (256 * 128 - 512)) };
    const now = trainFlops(base, cost, 256 * 128, 128, 256);
    const { hiddenSize: H, intermediateSize: I } = base;
    const saved = 3 * (cost.realTokens - cost.predicted) * 2 * (H * H + 3 * I * H);
    expect(saved / now).toBeGreaterThan(0.04);
    expect(saved / now).toBeLessThan(0.05);
  });
});
