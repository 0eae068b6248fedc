// Worker-thread entry of the batch producer (prefetch.ts): tokenizes and masks batches off the
// training thread. Each job carries the texts and the per-row mask seeds the main thread derived
// from (seed, epoch, sample id), so the worker computes exactly what tokenizeAndMask would there;
// the four Int32Array buffers are transferred back, not copied.
import { parentPort, workerData } from "node:worker_threads";
import { tokenizeAndMask } from "./batches.js";
import { loadTokenizer } from "./tokenizer.js";

export interface BatchJob {
  job: number;
  texts: string[];
  seeds: number[];
  seqLen: number;
  mlmProbability: number;
}

export type BatchReply =
  | { job: number; inputIds: Int32Array; tokenTypeIds: Int32Array; attentionMask: Int32Array; labels: Int32Array; batchSize: number; seqLen: number }
  | { job: number; error: string };

if (parentPort) {
  const port = parentPort;
  const { tokenizer } = loadTokenizer((workerData as { tokenizerName: string }).tokenizerName);
  port.on("message", (m: BatchJob) => {
    try {
      const r = tokenizeAndMask(m.texts, tokenizer, m.seqLen, m.mlmProbability, m.seeds);
      const reply: BatchReply = { job: m.job, ...r };
      port.postMessage(reply, [r.inputIds.buffer, r.tokenTypeIds.buffer, r.attentionMask.buffer, r.labels.buffer] as ArrayBuffer[]);
    } catch (e) {
      port.postMessage({ job: m.job, error: (e as Error).stack ?? String(e) } satisfies BatchReply);
    }
  });
}
