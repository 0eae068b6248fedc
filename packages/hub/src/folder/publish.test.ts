import { afterAll, describe, expect, it } from "vitest";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { localImports, planUpload } from "../index.js";

const golden = (p: string) => new URL(`../../../../../shared/data/golden/${p}`, import.meta.url).pathname;
const root = fs.mkdtempSync(path.join(os.tmpdir(), "hub-publish-"));
afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

/**
 * A folder laid out like mosaicml/mosaic-bert-base: the golden MosaicBERT weights and config with the
 * reference's auto_map (configuration_bert, bert_layers), and bert_layers.py importing its helpers the
 * way the reference does (relative imports, one inside try/except).
 */
function mosaicFolder(name: string, files: Record<string, string>): string {
  const dir = path.join(root, name);
  fs.mkdirSync(dir);
  const config = JSON.parse(fs.readFileSync(golden("mosaic-tiny-mlm/config.json"), "utf8"));
  config.auto_map = { AutoConfig: "configuration_bert.BertConfig", AutoModelForMaskedLM: "bert_layers.BertForMaskedLM" };
  fs.writeFileSync(path.join(dir, "config.json"), JSON.stringify(config));
  fs.copyFileSync(golden("mosaic-tiny-mlm/pytorch_model.bin"), path.join(dir, "pytorch_model.bin"));
  for (const [f, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, f), text);
  return dir;
}

const BERT_LAYERS = [
  "import copy",
  "import torch",
  "from transformers.modeling_outputs import MaskedLMOutput",
  "from .bert_padding import (index_first_axis,",
  "    index_put_first_axis, pad_input)",
  "from .configuration_bert import BertConfig",
  "try:",
  "    from .flash_attn_triton import flash_attn_qkvpacked_func",
  "except ImportError as e:",
  "    flash_attn_qkvpacked_func = None",
  "",
].join("\n");

describe("planUpload: remote code", () => {
  it("publishes the modules the auto_map modules import, transitively", () => {
    const dir = mosaicFolder("mosaic", {
      "configuration_bert.py": "from transformers import BertConfig as TransformersBertConfig\n",
      "bert_layers.py": BERT_LAYERS,
      "bert_padding.py": "import torch\nimport padding_utils  # a plain import of a module beside it\n",
      "padding_utils.py": "from . import constants, other_constants\n",
      "constants.py": "X = 1\n",
      "other_constants.py": "Y = 2\n",
      "flash_attn_triton.py": "import triton\n",
      "plot_loss.py": "import matplotlib\n",
    });
    const plan = planUpload(dir);
    expect(plan.files).toEqual([
      "bert_layers.py", "bert_padding.py", "config.json", "configuration_bert.py", "constants.py", "flash_attn_triton.py",
      "other_constants.py", "padding_utils.py", "pytorch_model.bin",
    ]);
    expect(plan.leftOut).toEqual([{ file: "plot_loss.py", reason: "Python code that no auto_map module imports" }]);
  });

  it("refuses a folder missing a relatively imported module, naming the importer", () => {
    const dir = mosaicFolder("missing", { "configuration_bert.py": "", "bert_layers.py": "from .bert_padding import pad_input\n" });
    expect(() => planUpload(dir)).toThrow(/missing\/bert_layers\.py: imports \.bert_padding, but bert_padding\.py is not in the folder/);
  });

  it("finds relative and local imports the way transformers does, ignoring comments and other modules", () => {
    const local = new Set(["a.py", "b.py", "c.py", "d.py"]);
    const src = "import os, a as aa\n# from .zz import q\nfrom b import x\nimport .c\n  from .e import f\nfrom .pkg.sub import g\nimport numpy\n";
    expect(localImports(src, (f) => local.has(f)).sort()).toEqual(["a.py", "b.py", "c.py", "e.py"]);
  });
});
