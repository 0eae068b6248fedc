import { describe, expect, it } from "vitest";
import { cpu } from "@mosaicbert/tensor";
import { allReduceBuckets, SingleProcessCommunicator } from "./communicator.js";
import { SocketCommunicator } from "./socket.js";
import { freePort } from "./port.js";

async function world(n: number): Promise<SocketCommunicator[]> {
  const port = await freePort();
  return Promise.all(Array.from({ length: n }, (_, rank) => SocketCommunicator.connect({ rank, worldSize: n, masterPort: port, timeoutMs: 10_000 })));
}

describe("SocketCommunicator (ranks in one process over localhost)", () => {
  it("allReduce sums and averages, identically on every rank", async () => {
    const comms = await world(3);
    const ts = comms.map((c) => cpu.fromArray([c.rank + 1, 10 * (c.rank + 1), -0.5], [3], "f32"));
    await Promise.all(comms.map((c, i) => c.allReduce(ts[i]!, "sum")));
    for (const t of ts) expect(Array.from(t.toArray() as Float32Array)).toEqual([6, 60, -1.5]);
    const us = comms.map((c) => cpu.fromArray([c.rank + 1, 10 * (c.rank + 1), -0.5], [3], "f32"));
    await Promise.all(comms.map((c, i) => c.allReduce(us[i]!, "mean")));
    for (const u of us) expect(Array.from(u.toArray() as Float32Array)).toEqual([2, 20, -0.5]);
    await Promise.all(comms.map((c) => c.close()));
  });

  it("broadcast from any root, barrier, bucketed all-reduce of a flat buffer", async () => {
    const comms = await world(2);
    const ts = comms.map((c) => cpu.fromArray([c.rank, c.rank + 0.25], [2], "f32"));
    await Promise.all(comms.map((c, i) => c.broadcast(ts[i]!, 1)));
    for (const t of ts) expect(Array.from(t.toArray() as Float32Array)).toEqual([1, 1.25]);
    await Promise.all(comms.map((c) => c.barrier()));
    // 10 values in buckets of 3 (the last bucket short): the mean of the two ranks' buffers.
    const flats = comms.map((c) => cpu.fromArray(Array.from({ length: 10 }, (_, i) => i * (c.rank === 0 ? 1 : 3)), [10], "f32"));
    await Promise.all(comms.map((c, i) => allReduceBuckets(c, flats[i]!, 3, "mean")));
    for (const f of flats) expect(Array.from(f.toArray() as Float32Array)).toEqual(Array.from({ length: 10 }, (_, i) => 2 * i));
    await Promise.all(comms.map((c) => c.close()));
  });

  it("rejects bad ranks and reports a peer that went away", async () => {
    await expect(SocketCommunicator.connect({ rank: 2, worldSize: 2, masterPort: 1234 })).rejects.toThrow(/RANK must be an integer in \[0, 2\)/);
    const comms = await world(2);
    await comms[1]!.close();
    const t = cpu.fromArray([1], [1], "f32");
    await expect(comms[0]!.allReduce(t)).rejects.toThrow(/rank 1 \(127.0.0.1:\d+\) closed the connection/);
    await comms[0]!.close();
  });

  it("single-process communicator is the identity", async () => {
    const c = new SingleProcessCommunicator();
    const t = cpu.fromArray([3], [1], "f32");
    await c.allReduce(t, "mean");
    await c.broadcast(t);
    expect(t.item()).toBe(3);
  });
});
