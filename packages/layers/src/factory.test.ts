import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { cpu } from "@mosaicbert/tensor";
import { afterAll, describe, expect, it } from "vitest";
import { fromHfConfig } from "./config.js";
import { detectTask } from "./factory.js";
import { fixtureCopy, fixtureDir } from "./fixtures/config-audit/load.js";
import { loadPretrained } from "./io.js";

const base = { vocab_size: 48, hidden_size: 16, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 24 };
const config = (architectures: string[]) => fromHfConfig({ ...base, architectures }).config;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "factory-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe("detectTask", () => {
  it("refuses heads it does not build by name, with what is supported, before their tensors are misread", () => {
    // These folders carry classifier.weight (token classification, multiple choice) or qa_outputs.
    const cases: Array<[string, string[]]> = [
      ["BertForTokenClassification", ["bert.pooler.dense.weight", "classifier.weight", "classifier.bias"]],
      ["BertForMultipleChoice", ["bert.pooler.dense.weight", "classifier.weight", "classifier.bias"]],
      ["BertForQuestionAnswering", ["qa_outputs.weight", "qa_outputs.bias"]],
      ["BertForNextSentencePrediction", ["cls.seq_relationship.weight"]],
      ["BertLMHeadModel", ["cls.predictions.bias"]],
    ];
    for (const [arch, names] of cases) {
      expect(() => detectTask(config([arch]), names, "x/config.json"), arch).toThrow(
        new RegExp(`x/config\\.json: config field 'architectures': ${arch}: this head is not supported; expected a masked LM \\(BertForMaskedLM.*a sequence classifier \\(BertForSequenceClassification.*an encoder \\(BertModel`),
      );
    }
  });

  it("keeps detecting the supported heads", () => {
    expect(detectTask(config(["BertForMaskedLM"]), [])).toBe("mlm");
    expect(detectTask(config(["BertForPreTraining"]), ["cls.predictions.bias"])).toBe("mlm");
    expect(detectTask(config(["MosaicBertForSequenceClassification"]), ["classifier.weight"])).toBe("classification");
    expect(detectTask(config(["BertModel"]), ["bert.embeddings.word_embeddings.weight"])).toBe("encoder");
    expect(detectTask(config([]), ["classifier.weight"])).toBe("classification");
    // Names of no known head class are left to the weights.
    expect(detectTask(config(["HFBertModel"]), ["cls.predictions.decoder.bias"])).toBe("mlm");
  });

  it("loadPretrained names the folder's config.json; an explicit task still loads the encoder", () => {
    const dir = fixtureCopy(fixtureDir("bert-cls-multi"), tmp, "tokcls", { architectures: ["BertForTokenClassification"], problem_type: undefined });
    expect(() => loadPretrained(dir, cpu)).toThrow(new RegExp(`${dir}/config\\.json: config field 'architectures': BertForTokenClassification: this head is not supported`));
    const { model, task } = loadPretrained(dir, cpu, { task: "encoder" });
    expect(task).toBe("encoder");
    model.dispose();
  });
});
