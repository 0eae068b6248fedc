import { describe, expect, it } from "vitest";
import { cpu, type Tensor } from "@mosaicbert/tensor";
import { hasNccl, NcclCommunicator, type NcclBackend } from "./nccl.js";
import { freePort } from "./port.js";

// NcclCommunicator against a fake addon on the CPU backend: what it asks the addon to do (pointers,
// element counts, dtype codes, mean/sum, main or side stream, joins, in which order), with the
// "device" reductions done by the fake as NCCL would for `ranks` processes holding the same tensor.

type Call = { op: string; args: unknown[] };

function fakeBackend(opts: { side?: boolean; ranks?: number; id?: number[] } = {}): NcclBackend & { calls: Call[]; tensorAt(p: number): Tensor } {
  const calls: Call[] = [];
  const ptrs = new Map<Tensor, number>();
  const byPtr = new Map<number, Tensor>();
  const ranks = opts.ranks ?? 1;
  const be = Object.create(cpu) as NcclBackend & { calls: Call[]; tensorAt(p: number): Tensor };
  const reduce = (op: string) => (ptr: number, n: number, dt: number, average: number) => {
    calls.push({ op, args: [ptr, n, dt, average] });
    const t = byPtr.get(ptr)!;
    // Every rank holds the same values: the sum is ranks × x, the mean x.
    const x = Float32Array.from(be.read(t) as ArrayLike<number>);
    be.write(t, x.map((v) => (average ? v : ranks * v)) as never);
  };
  Object.assign(be, {
    calls,
    info: { nccl: 22703 },
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

async function oneProcess(be: NcclBackend): Promise<NcclCommunicator> {
  return NcclCommunicator.create(be, { rank: 0, worldSize: 1, masterAddr: "127.0.0.1", masterPort: await freePort() });
}

describe("NcclCommunicator (fake addon)", () => {
  it("is recognised only with an NCCL build", () => {
    expect(hasNccl(fakeBackend())).toBe(true);
    expect(hasNccl(cpu)).toBe(false);
    expect(hasNccl(Object.assign(fakeBackend(), { info: { nccl: 0 } }))).toBe(false);
  });

  it("passes rank 0's unique id to every rank's init, byte for byte, over the TCP bootstrap", async () => {
    const id = Array.from({ length: 128 }, (_, i) => (255 - i * 7) & 255);
    const b0 = fakeBackend({ id, ranks: 2 });
    const b1 = fakeBackend({ id: new Array<number>(128).fill(9), ranks: 2 });
    const port = await freePort();
    const [c0, c1] = await Promise.all([
      NcclCommunicator.create(b0, { rank: 0, worldSize: 2, masterAddr: "127.0.0.1", masterPort: port }),
      NcclCommunicator.create(b1, { rank: 1, worldSize: 2, masterAddr: "127.0.0.1", masterPort: port }),
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
