import type { Tensor } from "./tensor.js";

/**
 * Collective operations between the processes of a data-parallel run (one process per device).
 * Every rank calls the same operations in the same order. Tensors are float32 (gradients, losses,
 * metrics) unless the backend says otherwise; operations are in place.
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
  /**
   * Optional: starts t's all-reduce without waiting, on a side channel that runs while later work
   * proceeds (NCCL's side stream). t must not be written until `joinAllReduces()`.
   */
  launchAllReduce?(t: Tensor, op?: "sum" | "mean"): void;
  /** false turns overlapping off where launchAllReduce exists (MOSAICBERT_DDP_OVERLAP=0, to measure it). */
  readonly overlap?: boolean;
  /** With launchAllReduce: everything queued after this sees every launched reduction's result. */
  joinAllReduces?(): Promise<void>;
  /**
   * Optional: the host channel under device collectives (NCCL's TCP bootstrap). A few host numbers
   * (a step's loss, a stop flag) reduced over it never wait for the device, where a device
   * all-reduce and its read would wait for every step queued on the stream.
   */
  readonly host?: Communicator;
  /** Returns once every rank has reached it. */
  barrier(): Promise<void>;
  /** Closes connections (idempotent). */
  close(): Promise<void>;
}

/**
 * What a backend is given to set up its collectives (`Backend.connectCollectives`): this process's
 * place in the run and a host channel to the other ranks (TCP through rank 0), through which a
 * device library exchanges its ids and which serves barriers. The collectives returned own it.
 */
export interface CollectiveGroup {
  rank: number;
  worldSize: number;
  bootstrap: Communicator;
}
