// Fuzz targets for config.json reading, from the real golden and bert-base-uncased configs: wrong
// types, unknown keys, absurd sizes (hidden_size 1e12, a billion layers) that must be refused before
// anything is allocated, and text damage to the file itself.
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { applyJson, applyText, describePlan, jsonPlan, textPlan, type Plan } from "../../../scripts/fuzz/mutate.mjs";
import type { FuzzTarget } from "../../../scripts/fuzz/target.d.mts";
import { fromHfConfig, validateConfig } from "./config.js";
import { readConfig } from "./io.js";

const DATA = new URL("../../../../shared/data/", import.meta.url).pathname;
const FILES = ["golden/mosaic-tiny-mlm/config.json", "golden/mosaic-tiny-cls3/config.json", "golden/bert-tiny-mlm/config.json", "vocab/bert-base-uncased-config.json"];
const TEXTS = FILES.map((f) => fs.readFileSync(DATA + f, "utf8"));
const DOCS = TEXTS.map((t) => JSON.parse(t) as unknown);
const SOURCE = "fuzz/config.json";
const DIR = fs.mkdtempSync(path.join(os.tmpdir(), "fuzz-config-"));

/** An accepted config must survive the strict round trip used for presets. */
function check(r: ReturnType<typeof fromHfConfig>): void {
  validateConfig(r.config);
}

export const configJson: FuzzTarget<Plan> = {
  name: "config.json (JSON edits)",
  arbitrary: jsonPlan(DOCS.length),
  source: () => SOURCE,
  field: /config field '[^']*'/,
  run: (p) => fromHfConfig(applyJson(DOCS[p.base], p.ops), { file: SOURCE }),
  check,
  describe: describePlan,
};

export const configText: FuzzTarget<Plan> = {
  name: "config.json (file damage, readConfig)",
  arbitrary: textPlan(TEXTS.length),
  source: () => path.join(DIR, "config.json"),
  run: (p) => {
    fs.writeFileSync(path.join(DIR, "config.json"), applyText(TEXTS[p.base]!, p.ops));
    return readConfig(DIR);
  },
  check,
  describe: describePlan,
};
