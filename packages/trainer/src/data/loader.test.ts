import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { describe, expect, it } from "vitest";
import { durationToSteps, parseDuration } from "../config/duration.js";
import { cacheFolderFor, openDataset, TrainTextLoader } from "./loader.js";

// c4-like/val: 200 samples; with 128 canonical nodes mosaicml-streaming pads the epoch to
// 128 × ceil(200/128) = 256 positions = 8 global batches of 32.
const src = { local: new URL("../../../../../shared/data/mds/c4-like", import.meta.url).pathname, split: "val" };
const G = 32;

function open(worldSize: number, rank: number): Promise<TrainTextLoader> {
  return TrainTextLoader.create(src, { globalBatchSize: G, rank, worldSize, shuffle: true, shuffleSeed: 9176 });
}

describe("TrainTextLoader on a padded epoch (c4-like val)", () => {
  it("takes its epoch length from the dataset's partition: 8 batches, 2ep = 16 steps", async () => {
    for (const worldSize of [1, 2]) {
      const loader = await open(worldSize, 0);
      expect(loader.batchesPerEpoch).toBe(8);
      expect(loader.samplesPerEpoch).toBe(256);
      expect(durationToSteps(parseDuration("2ep"), { globalBatchSize: G, tokensPerSample: 128, samplesPerEpoch: loader.samplesPerEpoch })).toBe(16);
      // The epoch the loader actually walks has exactly that many batches.
      const epochs: number[] = [];
      for (let i = 0; i < 17; i++) epochs.push(loader.nextIds().epoch);
      expect(epochs).toEqual([...Array(8).fill(0), ...Array(8).fill(1), 2]);
    }
  });

  it("resuming at every batch boundary of the padded epoch continues the uninterrupted order", async () => {
    for (const worldSize of [1, 2]) {
      for (let rank = 0; rank < worldSize; rank++) {
        const ref = await open(worldSize, rank);
        const states = [];
        const want: number[][] = [];
        for (let i = 0; i < 12; i++) {
          states.push(ref.state());
          want.push(ref.nextIds().ids);
        }
        for (let k = 0; k <= 8; k++) {
          const resumed = await open(worldSize, rank);
          resumed.loadState(states[k]!);
          expect(states[k]!.samplesInEpoch).toBe(k * G); // k = 8: the end of the padded epoch, 256 > 200 samples
          const got: number[][] = [];
          for (let i = k; i < 12; i++) got.push(resumed.nextIds().ids);
          expect(got, `${worldSize} rank(s), rank ${rank}, resumed at batch ${k}`).toEqual(want.slice(k));
        }
        // A checkpoint taken by counting samples (Composer's timestamp) inside the padding.
        const late = await open(worldSize, rank);
        late.loadState({ epoch: 0, samplesInEpoch: 224, samplesSeen: 224 });
        expect(late.nextIds().ids).toEqual(want[7]);
      }
    }
  });
});

describe("cacheFolderFor: one cache folder per remote dataset", () => {
  const root = path.join(os.homedir(), ".cache", "mosaicbert", "data");

  it("URLs whose readable names coincide get different folders", () => {
    for (const [a, b] of [["http://h/a/b", "http://h/a_b"], ["s3://bkt/c4/v1", "s3://bkt/c4_v1"], ["s3://b/c4", "gs://b/c4"], ["http://h/x?y", "http://h/x_y"]]) {
      const fa = cacheFolderFor(a!, {});
      const fb = cacheFolderFor(b!, {});
      expect(fa, `${a} vs ${b}`).not.toBe(fb);
      for (const f of [fa, fb]) expect(path.dirname(f)).toBe(root);
    }
  });

  it("keeps a readable prefix, ignores a trailing slash, and is stable", () => {
    const f = cacheFolderFor("s3://bkt/c4/v1", {});
    expect(path.basename(f)).toMatch(/^s3_bkt_c4_v1-[0-9a-f]{16}$/);
    expect(cacheFolderFor("s3://bkt/c4/v1/", {})).toBe(f);
    expect(cacheFolderFor("s3://bkt/c4/v1", {})).toBe(f);
  });

  it("the endpoint a URL is fetched from is part of the key; credentials and other schemes' settings are not", () => {
    const url = "s3://bkt/c4";
    const aws = cacheFolderFor(url, {});
    const minio = cacheFolderFor(url, { S3_ENDPOINT_URL: "http://minio-a:9000" });
    expect(minio).not.toBe(aws);
    expect(cacheFolderFor(url, { S3_ENDPOINT_URL: "http://minio-b:9000" })).not.toBe(minio);
    expect(cacheFolderFor(url, { AWS_ENDPOINT_URL: "http://minio-a:9000" })).toBe(minio);
    expect(cacheFolderFor(url, { S3_ENDPOINT_URL: "http://minio-a:9000", AWS_ACCESS_KEY_ID: "k", AWS_SECRET_ACCESS_KEY: "s" })).toBe(minio);
    expect(cacheFolderFor(url, { HF_ENDPOINT: "http://hub", STORAGE_EMULATOR_HOST: "http://gcs" })).toBe(aws);
    expect(cacheFolderFor("hf://datasets/o/n/c4", { HF_ENDPOINT: "http://hub" })).not.toBe(cacheFolderFor("hf://datasets/o/n/c4", {}));
    // A scheme named like an Object.prototype member has no endpoint variables (not a crash).
    expect(path.basename(cacheFolderFor("constructor://x/y", { S3_ENDPOINT_URL: "http://minio-a:9000" }))).toMatch(/^constructor_x_y-[0-9a-f]{16}$/);
  });

  it("no password of user:password@ (nor a query's signature) in the folder name; the hash still tells them apart", () => {
    const f = cacheFolderFor("https://alice:S3cretPassw0rd@host/ds?sig=SAStoken123", {});
    expect(path.basename(f)).toMatch(/^https_alice_host_ds-[0-9a-f]{16}$/);
    for (const secret of ["S3cretPassw0rd", "SAStoken123"]) expect(f).not.toContain(secret);
    expect(cacheFolderFor("https://host/ds", {})).not.toBe(f);
    expect(cacheFolderFor("https://alice:other@host/ds?sig=SAStoken123", {})).not.toBe(f);
    expect(path.basename(cacheFolderFor("https://tok_abcdef@host/ds", {}))).toMatch(/^https_host_ds-[0-9a-f]{16}$/);
  });

  it("a dataset that cannot be opened is named without its password", async () => {
    const remote = "http://alice:S3cretPassw0rd@127.0.0.1:9/ds";
    const local = fs.mkdtempSync(path.join(os.tmpdir(), "loader-pw-"));
    const e = await openDataset({ remote, local, split: "train" }, { downloadRetry: 0, downloadTimeoutMs: 2000 }).then(() => null, (x: Error) => x);
    expect(e?.message).toMatch(/^data: cannot open http:\/\/alice:\*\*\*@127\.0\.0\.1:9\/ds \(split train/);
    expect(e?.message).not.toContain("S3cretPassw0rd");
    fs.rmSync(local, { recursive: true, force: true });
  });
});

