import { describe, expect, it } from "vitest";
import { fromHfConfig, toHfConfig } from "./config.js";
import { countParameters } from "./factory.js";
import { PRESET_NAMES, preset } from "./presets.js";

const base = { vocab_size: 30528, hidden_size: 768, num_hidden_layers: 12, num_attention_heads: 12, intermediate_size: 3072 };

describe("config.json parsing", () => {
  it("recognises MosaicBERT by alibi_starting_size and BERT otherwise", () => {
    expect(fromHfConfig({ ...base, alibi_starting_size: 512 }).config.arch).toBe("mosaic-bert");
    expect(fromHfConfig(base).config.arch).toBe("bert");
  });
  it("decides an ambiguous model_type \"bert\" config from MosaicBERT hints: weight names, architectures, auto_map", () => {
    const mosaicNames = ["bert.embeddings.word_embeddings.weight", "bert.encoder.layer.0.attention.self.Wqkv.weight", "bert.encoder.layer.0.mlp.gated_layers.weight"];
    const bertNames = ["bert.embeddings.position_embeddings.weight", "bert.encoder.layer.0.attention.self.query.weight", "bert.encoder.layer.0.intermediate.dense.weight"];
    const fromNames = fromHfConfig({ ...base, model_type: "bert" }, { tensorNames: mosaicNames });
    expect(fromNames.config.arch).toBe("mosaic-bert");
    expect(fromNames.config.alibiStartingSize).toBe(512);
    expect(fromNames.warnings.join("\n")).toMatch(/alibi_starting_size: missing, but the MosaicBERT weight 'bert\.encoder\.layer\.0\.attention\.self\.Wqkv\.weight' says MosaicBERT/);
    expect(fromHfConfig({ ...base, model_type: "bert" }, { tensorNames: ["encoder.layer.3.mlp.gated_layers.weight"] }).config.arch).toBe("mosaic-bert");
    expect(fromHfConfig({ ...base, model_type: "bert" }, { tensorNames: bertNames }).config.arch).toBe("bert");
    expect(fromHfConfig({ ...base, architectures: ["MosaicBertForMaskedLM"] }).config.arch).toBe("mosaic-bert");
    expect(fromHfConfig({ ...base, auto_map: { AutoModelForMaskedLM: "bert_layers.BertForMaskedLM" } }).config.arch).toBe("mosaic-bert");
    expect(fromHfConfig({ ...base, architectures: ["BertForMaskedLM"], auto_map: { AutoModel: "modeling_x.X" } }).config.arch).toBe("bert");
  });
  it("names unknown fields as warnings, or errors when strict", () => {
    const { warnings } = fromHfConfig({ ...base, max_position_embedding: 512, golden_note: "x" });
    expect(warnings.join("\n")).toMatch(/max_position_embedding/);
    expect(warnings.join("\n")).toMatch(/golden_note/);
    expect(() => fromHfConfig({ ...base, foo: 1 }, { strict: true })).toThrow(/'foo'/);
  });
  it("rejects contradictory or bad fields by name", () => {
    expect(() => fromHfConfig({ ...base, num_attention_heads: 5 })).toThrow(/num_attention_heads.*divisible/);
    expect(() => fromHfConfig({ ...base, num_labels: 3, id2label: { 0: "a", 1: "b" } })).toThrow(/num_labels/);
    expect(() => fromHfConfig({ ...base, id2label: {} }, { file: "c/config.json" })).toThrow(/c\/config\.json.*id2label.*has no entries; expected one name per label/);
    expect(() => fromHfConfig({ ...base, hidden_act: "relu" })).toThrow(/hidden_act.*BERT: only "gelu"/);
    expect(() => fromHfConfig({ ...base, hidden_size: -1 })).toThrow(/hidden_size/);
    expect(() => fromHfConfig({ ...base, problem_type: "regression", num_labels: 2 })).toThrow(/problem_type/);
    expect(() => fromHfConfig({ ...base, vocab_size: undefined })).toThrow(/vocab_size.*missing/);
    expect(() => fromHfConfig({ ...base, attention_probs_dropout_prob: 1.5 })).toThrow(/attention_probs_dropout_prob/);
  });
  it("BERT refuses a causal decoder, cross-attention and an untied MLM decoder, naming file and field; MosaicBERT ignores them as the reference", () => {
    const file = { file: "d/config.json" };
    expect(() => fromHfConfig({ ...base, is_decoder: true }, file)).toThrow(/d\/config\.json: config field 'is_decoder': true \(a causal decoder.*expected false or absent/);
    expect(() => fromHfConfig({ ...base, add_cross_attention: true }, file)).toThrow(/d\/config\.json: config field 'add_cross_attention': true.*expected false or absent/);
    expect(() => fromHfConfig({ ...base, is_decoder: true, add_cross_attention: true }, file)).toThrow(/'is_decoder'/);
    const untied = { ...base, tie_word_embeddings: false };
    expect(() => fromHfConfig({ ...untied, architectures: ["BertForMaskedLM"] }, file)).toThrow(/d\/config\.json: config field 'tie_word_embeddings': false \(an untied MLM decoder.*expected true or absent/);
    expect(() => fromHfConfig(untied, { ...file, tensorNames: ["bert.embeddings.word_embeddings.weight", "cls.predictions.decoder.weight"] })).toThrow(/tie_word_embeddings/);
    // A classifier or encoder has no decoder: nothing to untie.
    expect(fromHfConfig({ ...untied, architectures: ["BertForSequenceClassification"] }).config.arch).toBe("bert");
    expect(fromHfConfig(untied, { tensorNames: ["bert.embeddings.word_embeddings.weight", "classifier.weight"] }).config.arch).toBe("bert");
    expect(fromHfConfig({ ...base, is_decoder: false, add_cross_attention: false, tie_word_embeddings: true }).warnings).toEqual([]);
    const mosaic = fromHfConfig({ ...base, alibi_starting_size: 512, architectures: ["BertForMaskedLM"], is_decoder: true, add_cross_attention: true, tie_word_embeddings: false });
    expect(mosaic.config.arch).toBe("mosaic-bert");
    expect(mosaic.warnings).toEqual([
      expect.stringMatching(/^is_decoder: true ignored, as the MosaicBERT reference does/),
      expect.stringMatching(/^add_cross_attention: true ignored/),
      expect.stringMatching(/^tie_word_embeddings: false ignored/),
    ]);
  });
  it("MosaicBERT: position_embedding_type ignored with a warning, any transformers hidden_act (used by the MLM head only); BERT refuses both", () => {
    const m = { ...base, alibi_starting_size: 512 };
    const rel = fromHfConfig({ ...m, position_embedding_type: "relative_key" });
    expect(rel.warnings.join("\n")).toMatch(/position_embedding_type: "relative_key" ignored: MosaicBERT has no position embeddings/);
    expect(fromHfConfig({ ...m, hidden_act: "relu" }).config.hiddenAct).toBe("relu");
    expect(fromHfConfig({ ...m, hidden_act: "gelu_10" }).config.hiddenAct).toBe("gelu_10");
    expect(() => fromHfConfig({ ...m, hidden_act: "gelu2" }, { file: "m/config.json" })).toThrow(/m\/config\.json: config field 'hidden_act': expected a transformers activation name \(gelu, .*\), got "gelu2"/);
    expect(() => fromHfConfig({ ...m, hidden_act: 3 })).toThrow(/hidden_act/);
    expect(() => fromHfConfig({ ...base, position_embedding_type: "relative_key" }, { file: "b/config.json" })).toThrow(/b\/config\.json: config field 'position_embedding_type': only "absolute"/);
    expect(() => fromHfConfig({ ...base, hidden_act: "gelu_new" })).toThrow(/hidden_act.*only "gelu"/);
    // Round trip keeps the activation.
    expect(fromHfConfig(toHfConfig(fromHfConfig({ ...m, hidden_act: "silu" }).config)).config.hiddenAct).toBe("silu");
  });
  it("round-trips through toHfConfig", () => {
    const c = preset("mosaic-bert-base", { numLabels: 3 });
    expect(fromHfConfig(toHfConfig(c)).config).toEqual({ ...c, id2label: { 0: "LABEL_0", 1: "LABEL_1", 2: "LABEL_2" } });
  });
});

describe("presets", () => {
  it("mosaic-bert-base has exactly 137,400,384 parameters (MLM, tied decoder)", () => {
    expect(countParameters(preset("mosaic-bert-base"), "mlm")).toBe(137_400_384);
  });
  it("bert-base matches transformers' counts", () => {
    const c = preset("bert-base");
    expect(countParameters(c, "mlm")).toBe(109_514_298); // BertForMaskedLM
    expect(countParameters(c, "classification")).toBe(109_483_778); // BertForSequenceClassification, 2 labels
  });
  it("large presets and tiny", () => {
    expect(countParameters(preset("bert-large"), "mlm")).toBe(335_174_458); // BertForMaskedLM bert-large-uncased
    // 31,264,768 embeddings + 24 × 16,786,432 per layer + 1,082,176 head.
    expect(countParameters(preset("mosaic-bert-large"), "mlm")).toBe(435_221_312);
    // 3,908,096 embeddings + 2 × 164,992 per layer + 47,296 head.
    expect(countParameters(preset("tiny"), "mlm")).toBe(4_285_376);
    for (const n of PRESET_NAMES) expect(preset(n).hiddenSize % preset(n).numAttentionHeads).toBe(0);
  });
  it("rejects unknown presets", () => {
    expect(() => preset("huge")).toThrow(/unknown model preset 'huge'/);
  });
});
