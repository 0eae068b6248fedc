import { evalTexts, TrainTextLoader, type SplitSource } from "../../data/loader.js";
import type { MlmBatch } from "@mosaicbert/data-streaming";
import { mlmCollator, sampleSeeds, tokenizeAndMask } from "../batches.js";
import { BatchProducer, dataWorkers } from "../prefetch.js";
import { SeedStream } from "../seeds.js";
import { loadTokenizer } from "../tokenizer.js";
import type { Data, World } from "./session.js";

type DatasetKeys = World["cfg"]["train_loader"]["dataset"];
const sourceOf = (d: DatasetKeys): SplitSource => ({ local: d.local, remote: d.remote ?? null, split: d.split });

/** Phase 2: the tokenizer, the training loader (this rank's share of each global batch) and the eval batches. */
export async function setUpData(w: World): Promise<Data> {
  const { cfg, rank, worldSize } = w;
  const { tokenizer, files: tokenizerFiles } = loadTokenizer(cfg.tokenizer_name);
  const trainDs = cfg.train_loader.dataset;
  const evalDs = cfg.eval_loader.dataset;
  const source = sourceOf(trainDs);
  const G = cfg.global_train_batch_size;
  const loader = await TrainTextLoader.create(source, {
    globalBatchSize: G, rank, worldSize, shuffle: trainDs.shuffle, shuffleSeed: trainDs.shuffle_seed ?? 9176,
  });
  const GE = cfg.global_eval_batch_size ?? G;
  const collator = mlmCollator(tokenizer, evalDs.mlm_probability);
  const evalBatches: MlmBatch[] = (await evalTexts(sourceOf(evalDs), { globalBatchSize: GE, numBatches: cfg.eval_subset_num_batches, rank, worldSize }))
    .filter((b) => b.texts.length > 0)
    // Fixed masks keyed on the document: the same positions are predicted at every evaluation, by
    // whichever process holds the document (and in every run of this seed).
    .map((b) => tokenizeAndMask(b.texts, tokenizer, evalDs.max_seq_len, collator, sampleSeeds(cfg.seed, SeedStream.evalMask, 0, b.ids)));
  return { tokenizer, tokenizerFiles, source, loader, evalBatches };
}

/**
 * Starts reading, tokenizing and masking batches ahead, in worker threads, from where the loader
 * stands (after a resume), while the device runs the current step.
 */
export function startProducer(w: World, data: Data, workers: number | undefined): BatchProducer {
  const trainDs = w.cfg.train_loader.dataset;
  const producer = new BatchProducer(data.loader, {
    tokenizer: data.tokenizer, tokenizerName: w.cfg.tokenizer_name, seqLen: trainDs.max_seq_len, mlmProbability: trainDs.mlm_probability,
    seed: w.cfg.seed, source: data.source,
    workers: workers ?? (process.env.MOSAICBERT_DATA_WORKERS || w.device.kind === "cuda" ? dataWorkers() : 0),
  });
  if (producer.note) w.say(producer.note);
  return producer;
}
