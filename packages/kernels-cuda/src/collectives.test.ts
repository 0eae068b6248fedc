import { describe, expect, it } from "vitest";
import { cpu, type Communicator, type Tensor } from "@mosaicbert/tensor";
import type { CudaBackend } from "./backend.js";
import { connectCudaCollectives, NcclCommunicator } from "./collectives.js";

// NcclCommunicator against a fake addon on the CPU backend: what it asks the addon to do (pointers,
// element counts, dtype codes, mean/sum, main or side stream, joins, in which order), with the
// "device" reductions done by the fake as NCCL would for `ranks` processes holding the same tensor.

type Call = { op: string; args: unknown[] };

type FakeCuda = CudaBackend & { calls: Call[]; tensorAt(p: number): Tensor };

function fakeBackend(opts: { side?: boolean; ranks?: number; id?: number[]; nccl?: number } = {}): FakeCuda {
  const calls: Call[] = [];
  const ptrs = new Map<Tensor, number>();
  const byPtr = new Map<number, Tensor>();
  const ranks = opts.ranks ?? 1;
  const be = Object.create(cpu) as FakeCuda;
  const reduce = (op: string) => (ptr: number, n: number, dt: number, average: number) => {
    calls.push({ op, args: [ptr, n, dt, average] });
    const t = byPtr.get(ptr)!;
    // Every rank holds the same values: the sum is ranks × x, the mean x.
    const x = Float32Array.from(be.read(t) as ArrayLike<number>);
    be.write(t, x.map((v) => (average ? v : ranks * v)) as never);
  };
  Object.assign(be, {
    calls,
    info: { nccl: opts.nccl ?? 22703 },
    ptr(t: Tensor): number {
      let p = ptrs.get(t);
      if (p === undefined) {
        p = 0x1000 * (ptrs.size + 1);
        ptrs.set(t, p);
        byPtr.set(p, t);
      }
      return p;
    },
    tensorAt: (p: number) => byPtr.get(p)!,
    synchronize: () => calls.push({ op: "synchronize", args: [] }),
    native: {
      ncclUniqueId: () => Uint8Array.from(opts.id ?? Array.from({ length: 128 }, (_, i) => (i * 37 + 11) % 256)),
      ncclInit: (nranks: number, rank: number, id: Uint8Array) => calls.push({ op: "init", args: [nranks, rank, Array.from(id)] }),
      ncclAllReduce: reduce("allReduce"),
      ...(opts.side === false ? {} : { ncclAllReduceSide: reduce("allReduceSide"), ncclJoin: () => calls.push({ op: "join", args: [] }) }),
      ncclDestroy: () => calls.push({ op: "destroy", args: [] }),
    },
  });
  return be;
}

const ops = (be: { calls: Call[] }) => be.calls.map((c) => c.op);

/**
 * In-process host channels of `worldSize` ranks: broadcast hands the root's values to the others,
 * as the trainer's TCP bootstrap does between processes.
 */
function hostChannels(worldSize: number): Array<Communicator & { closed: number }> {
  const rounds: Array<{ values?: Float32Array; ready: Promise<void>; resolve: () => void }> = [];
  const round = (i: number) => {
    if (!rounds[i]) {
      let resolve!: () => void;
      const ready = new Promise<void>((r) => (resolve = r));
      rounds[i] = { ready, resolve };
    }
    return rounds[i]!;
  };
  return Array.from({ length: worldSize }, (_, rank) => {
    let n = 0;
    return {
      rank, worldSize, kind: "host", closed: 0,
      async allReduce(): Promise<void> {
        throw new Error("the NCCL communicator reduces on the device, not over the host channel");
      },
      async broadcast(t: Tensor, root = 0): Promise<void> {
        const r = round(n++);
        if (rank === root) {
          r.values = Float32Array.from(t.toArray() as Float32Array);
          r.resolve();
        } else {
          await r.ready;
          t.backend.write(t, r.values!);
        }
      },
      async barrier(): Promise<void> {},
      async close(): Promise<void> {
        this.closed++;
      },
    };
  });
}

async function oneProcess(be: CudaBackend): Promise<NcclCommunicator> {
  return NcclCommunicator.create(be, { rank: 0, worldSize: 1, bootstrap: hostChannels(1)[0]! });
}

describe("NcclCommunicator (fake addon)", () => {
  it("is the CUDA backend's collectives with an NCCL build; without one, the host channel", async () => {
    const [boot] = hostChannels(1);
    const nccl = await connectCudaCollectives(fakeBackend(), { rank: 0, worldSize: 1, bootstrap: boot! });
    expect(nccl).toBeInstanceOf(NcclCommunicator);
    // Its host channel (for host numbers that must not wait for the stream) is the bootstrap it was given.
    expect(nccl.host).toBe(boot);
    expect(await connectCudaCollectives(fakeBackend({ nccl: 0 }), { rank: 0, worldSize: 1, bootstrap: boot! })).toBe(boot);
    expect(await cpu.connectCollectives({ rank: 0, worldSize: 1, bootstrap: boot! })).toBe(boot);
  });

  it("passes rank 0's unique id to every rank's init, byte for byte, over the host channel", async () => {
    const id = Array.from({ length: 128 }, (_, i) => (255 - i * 7) & 255);
    const b0 = fakeBackend({ id, ranks: 2 });
    const b1 = fakeBackend({ id: new Array<number>(128).fill(9), ranks: 2 });
    const [h0, h1] = hostChannels(2);
    const [c0, c1] = await Promise.all([
      NcclCommunicator.create(b0, { rank: 0, worldSize: 2, bootstrap: h0! }),
      NcclCommunicator.create(b1, { rank: 1, worldSize: 2, bootstrap: h1! }),
    ]);
    expect(b0.calls).toEqual([{ op: "init", args: [2, 0, id] }]);
    expect(b1.calls).toEqual([{ op: "init", args: [2, 1, id] }]);
    expect([c0.rank, c0.worldSize, c1.rank, c1.worldSize]).toEqual([0, 2, 1, 2]);
    // Broadcast from rank 0: the other rank contributes zeros to a sum.
    const t1 = b1.fromArray([5, 6, 7], [3], "f32");
    const t0 = b0.fromArray([1, 2, 3], [3], "f32");
    await Promise.all([c0.broadcast(t0, 0), c1.broadcast(t1, 0)]);
    expect(b1.calls.at(-1)).toEqual({ op: "allReduce", args: [b1.ptr(t1), 3, 0, 0] });
    expect(Array.from(t1.toArray() as Float32Array)).toEqual([0, 0, 0]); // the fake's "other rank" is a copy of these zeros
    await Promise.all([c0.close(), c1.close()]);
    expect([h0!.closed, h1!.closed]).toEqual([1, 1]);
  });

  it("reduces a device tensor in place on the main stream: its pointer, element count, dtype code and mean flag", async () => {
    const be = fakeBackend({ ranks: 4 });
    const comm = await oneProcess(be);
    be.calls.length = 0;
    const f = be.fromArray([1, 2, 3, 4, 5], [5], "f32");
    await comm.allReduce(f, "sum");
    await comm.allReduce(f, "mean");
    const h = be.fromArray([1, 2], [2], "bf16");
    await comm.allReduce(h);
    const i = be.fromArray([7], [1], "i32");
    await comm.allReduce(i, "mean");
    expect(be.calls).toEqual([
      { op: "allReduce", args: [be.ptr(f), 5, 0, 0] },
      { op: "allReduce", args: [be.ptr(f), 5, 0, 1] },
      { op: "allReduce", args: [be.ptr(h), 2, 1, 0] },
      { op: "allReduce", args: [be.ptr(i), 1, 3, 1] },
    ]);
    expect(Array.from(f.toArray() as Float32Array)).toEqual([4, 8, 12, 16, 20]);
    await comm.close();
  });

  it("refuses dtypes NCCL is not given, by name", async () => {
    const be = fakeBackend();
    const comm = await oneProcess(be);
    const u8 = be.zeros([4], "u8" as never);
    await expect(comm.allReduce(u8)).rejects.toThrow(/unsupported dtype u8/);
    await comm.close();
  });

  it("launches buckets on the side stream and joins once, before any later main-stream reduction", async () => {
    const be = fakeBackend({ ranks: 2 });
    const comm = await oneProcess(be);
    be.calls.length = 0;
    const a = be.fromArray([1, 1], [2], "f32");
    const b = be.fromArray([2, 2, 2], [3], "f32");
    comm.launchAllReduce(a, "mean");
    comm.launchAllReduce(b, "sum");
    const stats = be.fromArray([3], [1], "f32");
    await comm.allReduce(stats, "sum");
    await comm.joinAllReduces(); // nothing pending: no second join
    expect(be.calls).toEqual([
      { op: "allReduceSide", args: [be.ptr(a), 2, 0, 1] },
      { op: "allReduceSide", args: [be.ptr(b), 3, 0, 0] },
      { op: "join", args: [] },
      { op: "allReduce", args: [be.ptr(stats), 1, 0, 0] },
    ]);
    expect(Array.from(b.toArray() as Float32Array)).toEqual([4, 4, 4]);
    expect(() => comm.launchAllReduce(cpu.fromArray([1], [1], "f32"))).toThrow(/must live on this communicator's CUDA backend/);
    await comm.close();
  });

  it("with an addon built before the side stream, launched buckets go to the main stream in order and nothing is joined", async () => {
    const be = fakeBackend({ side: false });
    const comm = await oneProcess(be);
    be.calls.length = 0;
    const a = be.fromArray([1], [1], "f32");
    const b = be.fromArray([1, 2], [2], "f32");
    comm.launchAllReduce(a, "mean");
    comm.launchAllReduce(b, "mean");
    await comm.joinAllReduces();
    expect(be.calls).toEqual([
      { op: "allReduce", args: [be.ptr(a), 1, 0, 1] },
      { op: "allReduce", args: [be.ptr(b), 2, 0, 1] },
    ]);
    await comm.close();
  });

  it("reduces a host tensor through a device copy (f32) and writes the result back", async () => {
    const be = fakeBackend({ ranks: 3 });
    const comm = await oneProcess(be);
    be.calls.length = 0;
    const host = cpu.fromArray([1.5, -2, 4], [3], "f32");
    await comm.allReduce(host, "sum");
    expect(Array.from(host.toArray() as Float32Array)).toEqual([4.5, -6, 12]);
    expect(be.calls).toHaveLength(1);
    const [ptr, n, dt, avg] = be.calls[0]!.args as number[];
    expect([n, dt, avg]).toEqual([3, 0, 0]);
    expect(be.tensorAt(ptr!).backend).toBe(be);
    await comm.close();
  });

  it("closes once: joins pending side-stream work, synchronizes, destroys the communicator", async () => {
    const be = fakeBackend();
    const comm = await oneProcess(be);
    be.calls.length = 0;
    comm.launchAllReduce(be.fromArray([1], [1], "f32"));
    await comm.close();
    await comm.close();
    expect(ops(be)).toEqual(["allReduceSide", "join", "synchronize", "destroy"]);
  });

  it("checks the broadcast root", async () => {
    const comm = await oneProcess(fakeBackend());
    await expect(comm.broadcast(cpu.fromArray([1], [1], "f32"), 1)).rejects.toThrow(/root 1 is not a rank/);
    await comm.close();
  });
});
