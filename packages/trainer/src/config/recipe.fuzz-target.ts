// Fuzz targets for YAML recipes, from the shipped recipes: structural edits to the parsed document
// (wrong types, unknown keys, absurd sizes in model_config, broken ${...} references) and damage to
// the YAML text itself (stray indentation, tabs, anchors/aliases, truncation, invalid UTF-8). An
// accepted recipe must also yield a model config (checked by the layers package, sizes bounded).
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parse as parseYaml } from "yaml";
import { applyJson, applyText, describePlan, jsonPlan, textPlan, type Plan } from "../../../../scripts/fuzz/mutate.mjs";
import type { FuzzTarget } from "../../../../scripts/fuzz/target.d.mts";
import { modelConfigOf } from "../train/model-config.js";
import { buildConfig, loadRecipe } from "./load.js";
import type { PretrainConfig } from "./pretrain-schema.js";

const RECIPES = new URL("../../recipes/", import.meta.url).pathname;
const TEXTS = fs.readdirSync(RECIPES).filter((f) => f.endsWith(".yaml")).sort().map((f) => fs.readFileSync(RECIPES + f, "utf8"));
const DOCS = TEXTS.map((t) => parseYaml(t) as unknown);
const SOURCE = "fuzz/recipe.yaml";
const DIR = fs.mkdtempSync(path.join(os.tmpdir(), "fuzz-recipe-"));

function check(c: PretrainConfig): void {
  modelConfigOf(c);
}

/** Recipe errors are ConfigErrors naming the source; the model-config step names "recipe: model...". */
function sourceOf(): string {
  return SOURCE;
}

export const recipeDoc: FuzzTarget<Plan> = {
  name: "YAML recipe (document edits)",
  arbitrary: jsonPlan(DOCS.length),
  source: sourceOf,
  run: (p) => {
    const cfg = buildConfig(applyJson(DOCS[p.base], p.ops), SOURCE);
    try {
      check(cfg);
    } catch (e) {
      // modelConfigOf names the recipe section ("recipe: model.model_config: ..."), not the file; engine
      // errors (TypeError, RangeError) pass through untouched so the harness still flags them.
      if (!(e instanceof Error) || e.constructor !== Error) throw e;
      throw new Error(`${SOURCE}: ${e.message}`);
    }
    return cfg;
  },
  describe: describePlan,
};

export const recipeText: FuzzTarget<Plan> = {
  name: "YAML recipe (text damage, loadRecipe)",
  arbitrary: textPlan(TEXTS.length),
  source: () => path.join(DIR, "recipe.yaml"),
  run: (p) => {
    const file = path.join(DIR, "recipe.yaml");
    fs.writeFileSync(file, applyText(TEXTS[p.base]!, p.ops));
    return loadRecipe(file).config;
  },
  describe: describePlan,
};
