import { cpu, type Backend, type CollectiveGroup, type Communicator, type DType, type Tensor } from "@mosaicbert/tensor";
import { DT, type CudaBackend } from "./backend.js";

/** The dtypes native/nccl.cc maps to NCCL types (its codes are the backend's DT codes). */
const NCCL_DTYPES: ReadonlySet<DType> = new Set(["f32", "bf16", "f16", "i32"]);

/** The addon's dtype code for an all-reduce of t; unsupported dtypes are refused by name. */
function ncclDtype(t: Tensor): number {
  if (!NCCL_DTYPES.has(t.dtype)) throw new TypeError(`nccl allReduce: unsupported dtype ${t.dtype}`);
  return DT[t.dtype];
}

/**
 * The CUDA backend's collectives: NCCL when the addon was built with it, else the host channel
 * (tensors go through host memory over TCP).
 */
export async function connectCudaCollectives(backend: CudaBackend, group: CollectiveGroup): Promise<Communicator> {
  if ((backend.info.nccl ?? 0) > 0) return NcclCommunicator.create(backend, group);
  return group.bootstrap;
}

/**
 * All-reduce on the GPUs through NCCL, on the backend's stream, so it is ordered after the backward
 * kernels that produced the gradients without a host sync. The NCCL unique id travels from rank 0
 * over the group's host channel (TCP through rank 0), which then serves barriers. Broadcast is an
 * all-reduce of the root's values with zeros elsewhere.
 */
export class NcclCommunicator implements Communicator {
  readonly kind = "nccl";
  /** Gradient buckets are reduced on a side stream during backward unless MOSAICBERT_DDP_OVERLAP=0. */
  readonly overlap = process.env.MOSAICBERT_DDP_OVERLAP !== "0";
  private closed = false;
  /** Side-stream reductions launched and not yet joined. */
  private pending = 0;

  private constructor(
    private readonly backend: CudaBackend,
    private readonly boot: Communicator,
  ) {}

  get rank(): number {
    return this.boot.rank;
  }

  get worldSize(): number {
    return this.boot.worldSize;
  }

  /** The TCP bootstrap: for host numbers, which then never wait for the stream. */
  get host(): Communicator {
    return this.boot;
  }

  static async create(backend: CudaBackend, group: CollectiveGroup): Promise<NcclCommunicator> {
    const boot = group.bootstrap;
    // The 128-byte id as 128 floats holding 0..255 (exact; raw bit patterns could be NaN-canonicalised).
    const idT = cpu.fromArray(group.rank === 0 ? Array.from(backend.native.ncclUniqueId()) : new Array<number>(128).fill(0), [128], "f32");
    await boot.broadcast(idT, 0);
    const id = Uint8Array.from(idT.toArray() as Float32Array);
    idT.dispose();
    backend.native.ncclInit(group.worldSize, group.rank, id);
    return new NcclCommunicator(backend, boot);
  }

  /**
   * Overlapped reduction of a device tensor (a gradient bucket) on NCCL's side stream; the
   * backend's stream only waits for it at `joinAllReduces()`.
   */
  launchAllReduce(t: Tensor, op: "sum" | "mean" = "sum"): void {
    if (t.backend !== (this.backend as Backend)) throw new TypeError("nccl launchAllReduce: the tensor must live on this communicator's CUDA backend");
    // An addon built before overlap existed has no side stream: queued on the main stream, still in order.
    const side = this.backend.native.ncclAllReduceSide !== undefined;
    this.reduceOnDevice(t, op, side);
    if (side) this.pending++;
  }

  async joinAllReduces(): Promise<void> {
    if (this.pending === 0) return;
    this.pending = 0;
    this.backend.native.ncclJoin!();
  }

  async allReduce(t: Tensor, op: "sum" | "mean" = "sum"): Promise<void> {
    // Ordered after any side-stream reductions: NCCL operations on one communicator must not run
    // concurrently on two streams.
    await this.joinAllReduces();
    if (t.backend === (this.backend as Backend)) {
      this.reduceOnDevice(t, op, false);
      return;
    }
    // A host tensor (small statistics): through the device, as f32 (its dtype is still checked).
    ncclDtype(t);
    const d = this.backend.fromArray(t.backend.read(t) as Float32Array, [t.size], "f32");
    this.reduceOnDevice(d, op, false);
    t.backend.write(t, this.backend.read(d) as Float32Array);
    d.dispose();
  }

  /** One NCCL all-reduce of a device tensor, on the backend's stream or the side stream. */
  private reduceOnDevice(t: Tensor, op: "sum" | "mean", side: boolean): void {
    const n = this.backend.native;
    const reduce = side ? n.ncclAllReduceSide! : n.ncclAllReduce;
    reduce.call(n, this.backend.ptr(t), t.size, ncclDtype(t), op === "mean" ? 1 : 0);
  }

  async broadcast(t: Tensor, root = 0): Promise<void> {
    if (root < 0 || root >= this.worldSize) throw new RangeError(`broadcast: root ${root} is not a rank of this ${this.worldSize}-process run`);
    if (this.rank !== root) t.backend.fill(t, 0);
    await this.allReduce(t, "sum");
  }

  async barrier(): Promise<void> {
    this.backend.synchronize();
    await this.boot.barrier();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.joinAllReduces();
    this.backend.synchronize();
    this.backend.native.ncclDestroy();
    await this.boot.close();
  }
}
