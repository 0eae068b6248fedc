import { cpu, type Backend, type Tensor } from "@mosaicbert/tensor";
import type { Communicator } from "./communicator.js";
import { SocketCommunicator } from "./socket.js";

/** What this communicator needs from @mosaicbert/kernels-cuda's CudaBackend (its native addon and device pointers). */
export interface NcclBackend extends Backend {
  native: {
    ncclUniqueId(): Uint8Array;
    ncclInit(nranks: number, rank: number, id: Uint8Array): void;
    ncclAllReduce(ptr: number, n: number, dt: number, average: number): void;
    /** Absent in addons built before overlap existed: then reductions stay on the main stream. */
    ncclAllReduceSide?(ptr: number, n: number, dt: number, average: number): void;
    ncclJoin?(): void;
    ncclDestroy(): void;
  };
  info: { nccl: number };
  ptr(t: Tensor): number;
}

const DT: Record<string, number> = { f32: 0, bf16: 1, f16: 2, i32: 3 };

/** The addon's dtype code for an all-reduce of t; unsupported dtypes are refused by name. */
function ncclDtype(t: Tensor): number {
  const dt = DT[t.dtype];
  if (dt === undefined) throw new TypeError(`nccl allReduce: unsupported dtype ${t.dtype}`);
  return dt;
}

/** True when a backend is the CUDA backend built with NCCL. */
export function hasNccl(b: unknown): b is NcclBackend {
  const x = b as Partial<NcclBackend> | null;
  return !!x && typeof x.ptr === "function" && typeof x.native?.ncclInit === "function" && (x.info?.nccl ?? 0) > 0;
}

/**
 * All-reduce on the GPUs through NCCL (kernels-cuda's addon), on the backend's stream, so it is
 * ordered after the backward kernels that produced the gradients without a host sync. The NCCL
 * unique id travels from rank 0 over the TCP bootstrap (MASTER_ADDR:MASTER_PORT), which then
 * serves barriers. Broadcast is an all-reduce of the root's values with zeros elsewhere.
 */
export class NcclCommunicator implements Communicator {
  readonly kind = "nccl";
  /** Gradient buckets are reduced on a side stream during backward unless MOSAICBERT_DDP_OVERLAP=0. */
  readonly overlap = process.env.MOSAICBERT_DDP_OVERLAP !== "0";
  private closed = false;
  /** Side-stream reductions launched and not yet joined. */
  private pending = 0;

  private constructor(
    private readonly backend: NcclBackend,
    private readonly boot: SocketCommunicator,
  ) {}

  get rank(): number {
    return this.boot.rank;
  }

  get worldSize(): number {
    return this.boot.worldSize;
  }

  static async create(backend: NcclBackend, w: { rank: number; worldSize: number; masterAddr: string; masterPort: number }): Promise<NcclCommunicator> {
    const boot = await SocketCommunicator.connect({ rank: w.rank, worldSize: w.worldSize, masterAddr: w.masterAddr, masterPort: w.masterPort });
    // The 128-byte id as 128 floats holding 0..255 (exact; raw bit patterns could be NaN-canonicalised).
    const idT = cpu.fromArray(w.rank === 0 ? Array.from(backend.native.ncclUniqueId()) : new Array<number>(128).fill(0), [128], "f32");
    await boot.broadcast(idT, 0);
    const id = Uint8Array.from(idT.toArray() as Float32Array);
    idT.dispose();
    backend.native.ncclInit(w.worldSize, w.rank, id);
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
