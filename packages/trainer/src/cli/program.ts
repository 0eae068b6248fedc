import { Command } from "commander";
import { commands } from "./commands.js";

/** The `mosaicbert` command line: one subcommand per job, each defined in its own file beside this one. */
export function buildProgram(): Command {
  const program = new Command("mosaicbert")
    .description("Pretrain, finetune, evaluate and publish MosaicBERT / BERT encoders from Node.js")
    .version("0.1.0")
    .showHelpAfterError()
    .configureHelp({ sortSubcommands: false });
  for (const register of commands) register(program);
  return program;
}
