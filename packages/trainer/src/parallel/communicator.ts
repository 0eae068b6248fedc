import type { Communicator, Tensor } from "@mosaicbert/tensor";

// The collectives contract is @mosaicbert/tensor's (each backend implements it: NCCL on CUDA, the
// host channel of socket.ts on the CPU); this file adds the one-process case and DDP's buckets.
export type { Communicator };

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
 * DDP's bucketed gradient all-reduce over a flat gradient buffer. Buckets are cut from the end of
 * the buffer, because backward finishes the parameters stored last (the head, the last layers)
 * first: `ready(frontier)` says "every element from `frontier` on is final", and each bucket lying
 * wholly there is launched at once when the communicator can overlap (`launchAllReduce`), so the
 * reduction of the last layers runs while backward computes the first ones. `finish()` launches
 * the rest and joins. A communicator without overlap reduces every bucket in `finish()`, in order.
 * Results are identical either way: the same buckets, the same reductions.
 */
export class GradBuckets {
  /** Buckets (start offsets, descending) not yet launched: bucket k is [starts[k], ends[k]). */
  private next = 0;
  private readonly starts: number[] = [];
  private readonly ends: number[] = [];
  private readonly overlap: boolean;

  constructor(
    private readonly comm: Communicator,
    private readonly flat: Tensor,
    bucketElements: number,
    private readonly op: "sum" | "mean" = "mean",
  ) {
    if (!Number.isInteger(bucketElements) || bucketElements <= 0) throw new RangeError(`GradBuckets: bucketElements must be a positive integer, got ${bucketElements}`);
    for (let end = flat.size; end > 0; end -= bucketElements) {
      this.ends.push(end);
      this.starts.push(Math.max(0, end - bucketElements));
    }
    this.overlap = comm.worldSize > 1 && comm.overlap !== false && typeof comm.launchAllReduce === "function" && typeof comm.joinAllReduces === "function";
  }

  /** Number of buckets. */
  get count(): number {
    return this.starts.length;
  }

  /** Buckets launched so far (in overlap mode). */
  get launched(): number {
    return this.next;
  }

  /** Elements [frontier, size) are final: launch every bucket inside that range (overlap mode only). */
  ready(frontier: number): void {
    if (!this.overlap) return;
    while (this.next < this.starts.length && this.starts[this.next]! >= frontier) this.launch(this.next++);
  }

  /** All gradients are final: reduce what is left and wait (on the device stream, not the host). */
  async finish(): Promise<void> {
    if (this.comm.worldSize === 1) return;
    if (this.overlap) {
      while (this.next < this.starts.length) this.launch(this.next++);
      await this.comm.joinAllReduces!();
      return;
    }
    for (; this.next < this.starts.length; this.next++) await this.comm.allReduce(this.bucket(this.next), this.op);
  }

  private launch(k: number): void {
    this.comm.launchAllReduce!(this.bucket(k), this.op);
  }

  private bucket(k: number): Tensor {
    return this.flat.view(this.starts[k]!, [this.ends[k]! - this.starts[k]!]);
  }
}

/**
 * All-reduces a whole flat buffer in buckets of `bucketElements` (views, no copies): GradBuckets
 * when every element is already final.
 */
export async function allReduceBuckets(comm: Communicator, flat: Tensor, bucketElements: number, op: "sum" | "mean" = "mean"): Promise<void> {
  if (comm.worldSize === 1) return;
  await new GradBuckets(comm, flat, bucketElements, op).finish();
}
