import { describe, expect, it } from "vitest";
import { getPartition } from "../shuffle/partition.js";
import { StreamingDataset } from "./dataset.js";

// c4-like/val: 200 samples over 128 canonical nodes pad to 128 × ceil(200/128) = 256 positions,
// i.e. 8 global batches of 32 — the last one and a half of them inside the padding.
const MDS = new URL("../../../../../shared/data/mds/", import.meta.url).pathname;
const G = 32;

function open(worldSize: number, rank: number): Promise<StreamingDataset> {
  return StreamingDataset.create({
    local: MDS + "c4-like", split: "val", shuffle: true, shuffleAlgo: "py1s", shuffleSeed: 9176, numCanonicalNodes: 128,
    partitionAlgo: "orig", batchSize: G / worldSize, world: { numNodes: 1, ranksPerNode: worldSize, rank, workersPerRank: 1 },
  });
}

describe("resuming inside a padded epoch", () => {
  for (const worldSize of [1, 2]) {
    it(`every batch boundary continues the uninterrupted order (${worldSize} rank(s))`, async () => {
      for (let rank = 0; rank < worldSize; rank++) {
        const ds = await open(worldSize, rank);
        const full = ds.rankOrder(0);
        expect(full.length).toBe(256 / worldSize);
        expect(ds.samplesPerRankPerEpoch).toBe(256 / worldSize);
        const D = G / worldSize;
        for (let k = 0; k <= 8; k++) expect(ds.rankOrder(0, k * G), `rank ${rank}, batch ${k}`).toEqual(full.slice(k * D));
      }
    });
  }

  it("the iterator resumes at sample 224 (past the 200 samples) with the remaining padded batch", async () => {
    const ds = await open(1, 0);
    const tail = ds.rankOrder(0).slice(224);
    const want = await Promise.all(Array.from(tail, (id) => ds.get(id)));
    ds.loadStateDict({ epoch: 0, sample_in_epoch: 224, num_canonical_nodes: 128, shuffle_seed: 9176, initial_physical_nodes: 1 });
    const got: Array<Record<string, unknown>> = [];
    for await (const s of ds) got.push(s);
    expect(got).toEqual(want);
    expect(ds.stateDict().sample_in_epoch).toBe(256);
  });

  it("resuming at the end of the padded epoch yields nothing; beyond it is a clear error", () => {
    // resumeInPadding (what StreamingDataset passes) extends the reference's limit of 201 to the 256 positions.
    const a = { numSamples: 200, numCanonicalNodes: 128, numPhysicalNodes: 1, ranksPerNode: 1, workersPerRank: 1, batchSize: G, resumeInPadding: true };
    expect(getPartition("orig", { ...a, dropFirst: 256 })[0]![0]![0]).toEqual([]);
    expect(() => getPartition("orig", { ...a, dropFirst: 257 })).toThrow(
      "partition: resuming further into the dataset (dropFirst 257) than it has samples (200); dropFirst (sample_in_epoch) must be at most 256 (the padded epoch's positions)",
    );
    // Without it, the reference's get_partitions limit: N + (world − N mod world) = 201.
    expect(() => getPartition("orig", { ...a, resumeInPadding: false, dropFirst: 202 })).toThrow(
      "partition: resuming further into the dataset (dropFirst 202) than it has samples (200); dropFirst (sample_in_epoch) must be at most 201 (200 + 1 repeated to fill 1 ranks)",
    );
  });
});
