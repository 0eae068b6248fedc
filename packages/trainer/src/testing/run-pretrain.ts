// Child-process entry for tests: `node --import ../from-source/register-ts.mjs run-pretrain.ts '<PretrainOptions JSON>'`.
// Runs pretrain() with the given options and exits with its exit code.
import { pretrain, type PretrainOptions } from "../train/pretrain.js";

const opts = JSON.parse(process.argv[2] ?? "{}") as PretrainOptions;
const summary = await pretrain(opts);
process.exitCode = summary.exitCode;
