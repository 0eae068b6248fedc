// Worker-thread entry of the batch producer (prefetch.ts): reads (local splits), tokenizes and
// masks batches off the training thread. The worker starts with the split as the training thread
// opened it (`StreamingDataset.opened()`: no index.json is read again) and one MLM collator; each
// job carries the sample ids (or, for a remote split, the texts the main thread read) and the per-row
// mask seeds the main thread derived from (seed, epoch, sample id), so the worker computes exactly
// what tokenizeAndMask would there. The batch's buffers are transferred back, not copied.
import { parentPort, workerData } from "node:worker_threads";
import { StreamingDataset, type MlmBatch, type OpenedDataset } from "@mosaicbert/data-streaming";
import { readTexts } from "../data/loader.js";
import { mlmCollator, tokenizeAndMask } from "./batches.js";
import { loadTokenizer } from "./tokenizer.js";

export interface BatchWorkerData {
  tokenizerName: string;
  mlmProbability: number;
  /** The training thread's opened split, when the workers read the texts themselves (a local split). */
  dataset: OpenedDataset | null;
}

export interface BatchJob {
  job: number;
  /** Either the texts, or the sample ids to read from the worker's dataset. */
  texts?: string[];
  ids?: number[];
  seeds: number[];
  seqLen: number;
}

export type BatchReply = { job: number; batch: MlmBatch } | { job: number; error: string };

/** The buffers of a batch, for postMessage's transfer list. */
export function batchBuffers(b: MlmBatch): ArrayBuffer[] {
  const arrays = [b.inputIds, b.tokenTypeIds, b.attentionMask, b.labels, b.indices, b.cuSeqlens, b.maskedPositions];
  return [...new Set(arrays.map((a) => a.buffer as ArrayBuffer))];
}

if (parentPort) {
  const port = parentPort;
  const data = workerData as BatchWorkerData;
  const { tokenizer } = loadTokenizer(data.tokenizerName);
  const collator = mlmCollator(tokenizer, data.mlmProbability);
  const ds = data.dataset ? StreamingDataset.reopen(data.dataset) : null;
  port.on("message", async (m: BatchJob) => {
    try {
      let texts = m.texts;
      if (!texts) {
        if (!ds) throw new Error("a job without texts needs the split");
        texts = await readTexts(ds, m.ids!);
      }
      const batch = tokenizeAndMask(texts, tokenizer, m.seqLen, collator, m.seeds);
      port.postMessage({ job: m.job, batch } satisfies BatchReply, batchBuffers(batch));
    } catch (e) {
      port.postMessage({ job: m.job, error: (e as Error).stack ?? String(e) } satisfies BatchReply);
    }
  });
}
