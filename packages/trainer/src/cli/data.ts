import { InvalidArgumentError, type Command } from "commander";
import { catLines, convertToMds, epochOrder } from "@mosaicbert/data-streaming";
import type { Writable } from "node:stream";

function int(min: number) {
  return (value: string): number => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min) throw new InvalidArgumentError(`expected an integer ≥ ${min}, got "${value}"`);
    return n;
  };
}

/** `mosaicbert data convert|cat|order`, writing to `io.stdout`/`io.stderr` (injectable for tests). */
export function registerData(program: Command, io: { stdout: Writable; stderr: Writable }): void {
  const data = program.command("data").description("MDS datasets (mosaicml-streaming format): convert text to shards, print samples, print the sample order");

  data
    .command("convert")
    .description("Convert json/jsonl/json.gz/txt/parquet files (C4 layout: text, timestamp, url) into MDS shards, in constant memory")
    .requiredOption("--input <files...>", "input files (.json, .jsonl, .json.gz, .txt: one text per line, .parquet: column text, a row group at a time)")
    .requiredOption("--out <dir>", "output folder, or a remote: s3://bucket/path, gs://bucket/path, hf://datasets/owner/name/path (shards uploaded as written, index.json last)")
    .option("--compression <c>", "zstd, zstd:7, gz, br, snappy (default: none)")
    .option("--size-limit <bytes>", 'shard size limit, e.g. 67108864 or "64mb"', "67108864")
    .option("--hashes <list>", "comma-separated hash names for index.json, e.g. sha1,xxh64")
    .option("--concat-tokens <n>", "pre-tokenize: write a `tokens` bytes column of n int64 ids per sample", int(1))
    .option("--vocab <file>", "vocab.txt or tokenizer.json for --concat-tokens")
    .option("--overwrite", "replace an existing dataset in --out (for a remote, its index.json is deleted first)")
    .action(async (o: { input: string[]; out: string; compression?: string; sizeLimit: string; concatTokens?: number; vocab?: string; overwrite?: boolean; hashes?: string }) => {
      const n = await convertToMds({
        inputs: o.input, out: o.out, compression: o.compression ?? null, sizeLimit: /^\d+$/.test(o.sizeLimit) ? Number(o.sizeLimit) : o.sizeLimit,
        hashes: o.hashes ? o.hashes.split(",").map((h) => h.trim()) : undefined, concatTokens: o.concatTokens, vocab: o.vocab, progress: io.stderr, overwrite: o.overwrite,
      });
      io.stderr.write(`wrote ${n} samples to ${o.out}\n`);
    });

  data
    .command("cat")
    .description("Print one JSON line per sample ({index, shard, index_in_shard, sample}), as the goldens' expected.jsonl")
    .argument("<dir>", "dataset folder holding index.json, or a remote: s3://bucket/path, gs://bucket/path, hf://datasets/owner/name/path, http(s)://")
    .option("--local <dir>", "cache folder for a remote dataset's shards (default: a per-user cache)")
    .option("--limit <n>", "print at most n samples", int(0))
    .action(async (dir: string, o: { limit?: number; local?: string }) => {
      for await (const line of catLines(dir, o.limit ?? Infinity, o.local)) io.stdout.write(line + "\n");
    });

  data
    .command("order")
    .description("Print each rank's and worker's sample ids for one epoch, in mosaicml-streaming's order")
    .argument("<dir>", "dataset folder holding index.json, or a remote (s3://, gs://, hf://, http(s)://)")
    .option("--no-shuffle", "keep the unshuffled order (still partitioned)")
    .option("--shuffle-algo <a>", "py1e, py1s, py2s, py1b, py1br or naive", "py1e")
    .option("--seed <s>", "shuffle seed", int(0), 9176)
    .option("--block-size <n>", "shuffle block size (default max(4e6 / canonical nodes, 2^18))", int(1))
    .option("--canonical-nodes <c>", "number of canonical nodes (default 64 × nodes for py1s/py2s, else nodes)", int(1))
    .option("--world-size <w>", "number of ranks", int(1), 1)
    .option("--ranks-per-node <r>", "ranks per node (default: all on one node)", int(1))
    .option("--workers <k>", "DataLoader workers per rank", int(1), 1)
    .option("--batch-size <b>", "per-device batch size", int(1), 1)
    .option("--epoch <e>", "epoch", int(0), 0)
    .option("--partition-algo <p>", "relaxed or orig", "relaxed")
    .action(async (dir: string, o: { shuffle: boolean; shuffleAlgo: string; seed: number; blockSize?: number; canonicalNodes?: number; worldSize: number; ranksPerNode?: number; workers: number; batchSize: number; epoch: number; partitionAlgo: string }) => {
      if (o.partitionAlgo !== "relaxed" && o.partitionAlgo !== "orig") throw new InvalidArgumentError(`--partition-algo must be relaxed or orig, got "${o.partitionAlgo}"`);
      const order = await epochOrder(dir, {
        shuffle: o.shuffle, shuffleAlgo: o.shuffleAlgo, shuffleSeed: o.seed, shuffleBlockSize: o.blockSize,
        numCanonicalNodes: o.canonicalNodes, partitionAlgo: o.partitionAlgo, batchSize: o.batchSize,
        worldSize: o.worldSize, ranksPerNode: o.ranksPerNode, workers: o.workers, epoch: o.epoch,
      });
      io.stdout.write(JSON.stringify(order) + "\n");
    });
}

export function register(program: Command): void {
  registerData(program, { stdout: process.stdout, stderr: process.stderr });
}
