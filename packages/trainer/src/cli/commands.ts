import type { Command } from "commander";
import { register as tokenize } from "./tokenize.js";
import { register as hub } from "./hub.js";
import { register as infer } from "./infer.js";
import { register as data } from "./data.js";
import { register as pretrain } from "./pretrain.js";
import { register as plot } from "./plot.js";
import { register as glue } from "./glue.js";
import { register as finetune } from "./finetune.js";
import { register as embed } from "./embed.js";
import { register as bench } from "./bench.js";

/**
 * Every subcommand registers itself here: add one line per file of this folder.
 * Each file exports `register(program)`; the work itself lives in the package that owns it.
 */
export const commands: Array<(program: Command) => void> = [
  pretrain,
  plot,
  tokenize,
  hub,
  infer,
  glue,
  finetune,
  embed,
  data,
  bench,
];
