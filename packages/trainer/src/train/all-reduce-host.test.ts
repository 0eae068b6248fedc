import { describe, expect, it } from "vitest";
import { cpu, type Communicator, type Tensor } from "@mosaicbert/tensor";
import { allReduceHost } from "./step.js";

/** A 2-rank stand-in whose peer holds the same values: allReduce doubles them. */
function channel(kind: string, calls: string[], host?: Communicator): Communicator {
  return {
    rank: 0, worldSize: 2, kind, host,
    async allReduce(t: Tensor) {
      calls.push(`${kind}:${t.backend.name}`);
      t.backend.write(t, Array.from(t.toArray() as Float32Array, (v) => 2 * v));
    },
    async broadcast() {},
    async barrier() {},
    async close() {},
  };
}

describe("allReduceHost", () => {
  it("sums over the host channel when the communicator has one (NCCL's bootstrap), never touching the device one", async () => {
    const calls: string[] = [];
    const device = channel("nccl", calls, channel("socket", calls));
    expect(await allReduceHost(device, cpu, [1.5, 3, -2])).toEqual([3, 6, -4]);
    expect(calls).toEqual(["socket:cpu"]);
  });

  it("sums over the communicator itself without a host channel, and returns the values as they are in a 1-process world", async () => {
    const calls: string[] = [];
    expect(await allReduceHost(channel("socket", calls), cpu, [0.25, 7])).toEqual([0.5, 14]);
    expect(calls).toEqual(["socket:cpu"]);
    const single: Communicator = { ...channel("single", calls), worldSize: 1 };
    expect(await allReduceHost(single, cpu, [9])).toEqual([9]);
    expect(calls).toHaveLength(1);
  });
});
