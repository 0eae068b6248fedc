import { Option, type Command } from "commander";
import { plotRuns } from "../plot/plot.js";
import type { XAxis, YAxis } from "../plot/series.js";

/** `mosaicbert plot`: quality against wall clock (or tokens) for pretraining runs, SVG + PNG. */
export function register(program: Command): void {
  program
    .command("plot")
    .description("Plot runs' quality against pretraining cost from their metrics.jsonl (the paper's Pareto curves): writes FILE.svg and FILE.png")
    .requiredOption("--runs <dirs...>", "save folders of pretraining runs (each holds metrics.jsonl)")
    .addOption(new Option("--x <axis>", "cost axis").choices(["wallclock", "tokens"]).default("wallclock"))
    .addOption(new Option("--y <metric>", "quality axis (glue: records {type: \"glue\", step, glue} in metrics.jsonl or glue.jsonl)").choices(["mlm_accuracy", "loss", "glue"]).default("mlm_accuracy"))
    .requiredOption("--out <file>", "output .svg (a .png is written beside it) or .png")
    .option("--title <text>", "chart title")
    .action((opts: { runs: string[]; x: XAxis; y: YAxis; out: string; title?: string }) => {
      const { files, series } = plotRuns(opts);
      for (const s of series) process.stdout.write(`${s.name}: ${s.points.length} points (${s.dir})\n`);
      process.stdout.write(`wrote ${files.join(" and ")}\n`);
    });
}
