import { describe, expect, it } from "vitest";
import { cpu, type Tensor } from "@mosaicbert/tensor";
import { type Communicator, GradBuckets } from "./communicator.js";
import { SocketCommunicator } from "./socket.js";
import { freePort } from "./port.js";

/** A 2-rank communicator that can overlap; it records what was launched (each buffer holds its own offsets). */
class Recording implements Communicator {
  readonly rank = 0;
  readonly worldSize = 2;
  readonly kind = "recording";
  events: string[] = [];
  launchAllReduce(t: Tensor): void {
    const v = t.toArray() as Float32Array;
    this.events.push(`launch ${v[0]}..${v[v.length - 1]! + 1}`);
  }
  async joinAllReduces(): Promise<void> {
    this.events.push("join");
  }
  async allReduce(): Promise<void> {
    this.events.push("ordered");
  }
  async broadcast(): Promise<void> {}
  async barrier(): Promise<void> {}
  async close(): Promise<void> {}
}

describe("GradBuckets", () => {
  it("cuts buckets from the end and launches each once its whole range is final", async () => {
    const comm = new Recording();
    const flat = cpu.fromArray(Array.from({ length: 10 }, (_, i) => i), [10], "f32");
    const b = new GradBuckets(comm, flat, 3);
    expect(b.count).toBe(4);
    b.ready(8); // [7, 10) is not wholly final yet
    expect(comm.events).toEqual([]);
    b.ready(7);
    expect(comm.events).toEqual(["launch 7..10"]);
    b.ready(5);
    b.ready(2);
    expect(comm.events).toEqual(["launch 7..10", "launch 4..7"]);
    await b.finish();
    expect(comm.events).toEqual(["launch 7..10", "launch 4..7", "launch 1..4", "launch 0..1", "join"]);
    expect(b.launched).toBe(4);
  });

  it("without overlap reduces every bucket in finish(), giving the mean on every rank", async () => {
    const port = await freePort();
    const comms = await Promise.all([0, 1].map((rank) => SocketCommunicator.connect({ rank, worldSize: 2, masterPort: port, timeoutMs: 10_000 })));
    const flats = comms.map((c) => cpu.fromArray(Array.from({ length: 10 }, (_, i) => i * (c.rank === 0 ? 1 : 3)), [10], "f32"));
    await Promise.all(
      comms.map(async (c, i) => {
        const b = new GradBuckets(c, flats[i]!, 4);
        b.ready(0); // ignored: a socket communicator cannot overlap
        expect(b.launched).toBe(0);
        await b.finish();
      }),
    );
    for (const f of flats) expect(Array.from(f.toArray() as Float32Array)).toEqual(Array.from({ length: 10 }, (_, i) => 2 * i));
    await Promise.all(comms.map((c) => c.close()));
  });

  it("a communicator that turns overlap off is reduced in order in finish()", async () => {
    const comm = Object.assign(new Recording(), { overlap: false });
    const b = new GradBuckets(comm, cpu.zeros([10], "f32"), 4);
    b.ready(0);
    await b.finish();
    expect(comm.events).toEqual(["ordered", "ordered", "ordered"]);
  });

  it("rejects a bad bucket size", () => {
    expect(() => new GradBuckets(new Recording(), cpu.zeros([4], "f32"), 0)).toThrow(/bucketElements must be a positive integer, got 0/);
  });
});
