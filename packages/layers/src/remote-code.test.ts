import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { cpu } from "@mosaicbert/tensor";
import { afterAll, describe, expect, it } from "vitest";
import { fromHfConfig, toHfConfig } from "./config.js";
import { createModel } from "./factory.js";
import { loadPretrained, readConfig, savePretrained } from "./io.js";
import { preset } from "./presets.js";
import { MOSAIC_AUTO_MAP, REMOTE_CODE_FILES, remoteCodeFiles } from "./remote-code.js";
import { PYTHON_FILES } from "./remote-code-files.js";

const GOLDEN = fileURLToPath(new URL("../../../../shared/data/golden/mosaic-tiny-mlm", import.meta.url));
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), "remote-code-"));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe("MosaicBERT folders transformers can load (model_type mosaic_bert + our PyTorch code)", () => {
  it("writes model_type mosaic_bert, MosaicBert* architectures and an auto_map; BERT stays plain bert", () => {
    const hf = toHfConfig(preset("mosaic-bert-base"));
    expect(hf.model_type).toBe("mosaic_bert");
    expect(hf.architectures).toEqual(["MosaicBertForMaskedLM"]);
    expect(hf.auto_map).toEqual(MOSAIC_AUTO_MAP);
    const cls = toHfConfig({ ...preset("tiny"), architectures: ["BertForSequenceClassification"], numLabels: 3 });
    expect(cls.architectures).toEqual(["MosaicBertForSequenceClassification"]);
    const bert = toHfConfig(preset("bert-base"));
    expect(bert.model_type).toBe("bert");
    expect(bert.architectures).toEqual(["BertForMaskedLM"]);
    expect(bert).not.toHaveProperty("auto_map");
    expect(remoteCodeFiles(bert)).toEqual({});
  });

  it("reads its own folders and the reference's (model_type bert with alibi_starting_size) alike", () => {
    const ours = fromHfConfig(toHfConfig(preset("tiny")), { strict: true }).config;
    expect(ours).toEqual({ ...preset("tiny"), architectures: ["MosaicBertForMaskedLM"] });
    const reference = readConfig(GOLDEN).config; // config.json of the reference's PyTorch model
    expect(reference.arch).toBe("mosaic-bert");
    expect(fromHfConfig({ ...toHfConfig(reference), model_type: "mosaic_bert", alibi_starting_size: undefined }).config.arch).toBe("mosaic-bert");
    expect(() => fromHfConfig({ ...toHfConfig(reference), model_type: "roberta" }, { file: "x/config.json" })).toThrow(/model_type.*"mosaic_bert".*"bert".*roberta/);
  });

  it("the embedded Python files are python/*.py as they are now", () => {
    const dir = fileURLToPath(new URL("../python", import.meta.url));
    const onDisk = Object.fromEntries(fs.readdirSync(dir).filter((f) => f.endsWith(".py")).map((f) => [f, fs.readFileSync(path.join(dir, f), "utf8")]));
    expect(PYTHON_FILES, "python/ changed: run node packages/layers/scripts/embed-python.mjs").toEqual(onDisk);
  });

  it("every auto_map target is a class of the shipped Python files", () => {
    const files = remoteCodeFiles(toHfConfig(preset("tiny")));
    expect(Object.keys(files).sort()).toEqual([...REMOTE_CODE_FILES].sort());
    for (const target of Object.values(MOSAIC_AUTO_MAP)) {
      const [mod, cls] = target.split(".");
      expect(files[`${mod}.py`], target).toMatch(new RegExp(`^class ${cls}\\(`, "m"));
    }
    expect(files["configuration_mosaic_bert.py"]).toMatch(/model_type = "mosaic_bert"/);
  });

  it("savePretrained writes the Python files beside the weights, and the folder loads back", () => {
    const { config } = readConfig(GOLDEN);
    const m = createModel(config, "mlm", cpu, { seed: 3 });
    const dir = path.join(tmp, "mlm");
    const written = savePretrained(m, dir);
    expect(written).toEqual(expect.arrayContaining(["config.json", "model.safetensors", ...REMOTE_CODE_FILES]));
    const saved = JSON.parse(fs.readFileSync(path.join(dir, "config.json"), "utf8"));
    expect(saved).toMatchObject({ model_type: "mosaic_bert", architectures: ["MosaicBertForMaskedLM"], auto_map: MOSAIC_AUTO_MAP });
    for (const f of REMOTE_CODE_FILES) expect(fs.readFileSync(path.join(dir, f), "utf8")).toContain("class ");
    const { model, task } = loadPretrained(dir, cpu);
    expect(task).toBe("mlm");
    expect(model.config.arch).toBe("mosaic-bert");
    expect(Array.from(model.flat.params.toArray() as Float32Array)).toEqual(Array.from(m.flat.params.toArray() as Float32Array));
    model.dispose();
    m.dispose();
  });
});
