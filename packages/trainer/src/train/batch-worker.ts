// Worker-thread entry of the batch producer (prefetch.ts): reads (local splits), tokenizes and
// masks batches off the training thread. Each job carries the sample ids (or, for a remote split,
// the texts the main thread read) and the per-row mask seeds the main thread derived from (seed,
// epoch, sample id), so the worker computes exactly what tokenizeAndMask would there; the four
// Int32Array buffers are transferred back, not copied.
import { parentPort, workerData } from "node:worker_threads";
import type { StreamingDataset } from "@mosaicbert/data-streaming";
import { openDataset, readTexts, type SplitSource } from "../data/loader.js";
import { tokenizeAndMask } from "./batches.js";
import { loadTokenizer } from "./tokenizer.js";

export interface BatchJob {
  job: number;
  /** Either the texts, or the sample ids to read from the worker's own handle on `source`. */
  texts?: string[];
  ids?: number[];
  seeds: number[];
  seqLen: number;
  mlmProbability: number;
}

export type BatchReply =
  | { job: number; inputIds: Int32Array; tokenTypeIds: Int32Array; attentionMask: Int32Array; labels: Int32Array; batchSize: number; seqLen: number }
  | { job: number; error: string };

if (parentPort) {
  const port = parentPort;
  const data = workerData as { tokenizerName: string; source: SplitSource | null };
  const { tokenizer } = loadTokenizer(data.tokenizerName);
  let ds: Promise<StreamingDataset> | null = null;
  port.on("message", async (m: BatchJob) => {
    try {
      let texts = m.texts;
      if (!texts) {
        if (!data.source) throw new Error("a job without texts needs the split source");
        ds ??= openDataset(data.source);
        texts = await readTexts(await ds, m.ids!);
      }
      const r = tokenizeAndMask(texts, tokenizer, m.seqLen, m.mlmProbability, m.seeds);
      const reply: BatchReply = { job: m.job, ...r };
      port.postMessage(reply, [r.inputIds.buffer, r.tokenTypeIds.buffer, r.attentionMask.buffer, r.labels.buffer] as ArrayBuffer[]);
    } catch (e) {
      port.postMessage({ job: m.job, error: (e as Error).stack ?? String(e) } satisfies BatchReply);
    }
  });
}
