import type { Tensor } from "@mosaicbert/tensor";

/**
 * Collective operations between the processes of a data-parallel run (one process per device).
 * Every rank calls the same operations in the same order. Tensors are float32 (gradients, losses,
 * metrics); operations are in place.
 */
export interface Communicator {
  readonly rank: number;
  readonly worldSize: number;
  /** Human name of the transport ("single", "socket", "nccl"). */
  readonly kind: string;
  /** t ← Σ over ranks of t (op "sum") or the mean (op "mean", the DDP gradient average). */
  allReduce(t: Tensor, op?: "sum" | "mean"): Promise<void>;
  /** t ← root's t on every rank. */
  broadcast(t: Tensor, root?: number): Promise<void>;
  /** Returns once every rank has reached it. */
  barrier(): Promise<void>;
  /** Closes connections (idempotent). */
  close(): Promise<void>;
}

/** The one-process communicator: every collective is the identity. */
export class SingleProcessCommunicator implements Communicator {
  readonly rank = 0;
  readonly worldSize = 1;
  readonly kind = "single";
  async allReduce(_t: Tensor, _op: "sum" | "mean" = "sum"): Promise<void> {}
  async broadcast(_t: Tensor, root = 0): Promise<void> {
    if (root !== 0) throw new RangeError(`broadcast: root ${root} does not exist in a 1-process run`);
  }
  async barrier(): Promise<void> {}
  async close(): Promise<void> {}
}

/**
 * All-reduces a flat buffer in buckets of `bucketElements` (views, no copies), as DDP does: a
 * backend that can overlap communication with backward launches each bucket as soon as its
 * gradients are final; on the CPU the buckets simply bound the size of each message.
 */
export async function allReduceBuckets(comm: Communicator, flat: Tensor, bucketElements: number, op: "sum" | "mean" = "mean"): Promise<void> {
  if (comm.worldSize === 1) return;
  if (!Number.isInteger(bucketElements) || bucketElements <= 0) throw new RangeError(`allReduceBuckets: bucketElements must be a positive integer, got ${bucketElements}`);
  for (let off = 0; off < flat.size; off += bucketElements) {
    const n = Math.min(bucketElements, flat.size - off);
    await comm.allReduce(flat.view(off, [n]), op);
  }
}
