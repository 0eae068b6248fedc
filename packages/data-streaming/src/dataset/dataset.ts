/**
 * StreamingDataset: mosaicml-streaming's sample order (weighting, shuffle, partition over nodes /
 * ranks / workers), mid-epoch resumption, shard download through a size-limited cache, and
 * background prefetch of upcoming shards while iterating.
 */
import { decodeColumns, type RawSample } from "../mds/reader.js";
import type { MdsIndex } from "../mds/index-file.js";
import type { RawShard } from "../mds/shard.js";
import { parseByteSize } from "../mds/sizes.js";
import { getShuffle } from "../shuffle/algos.js";
import { getPartition, rankPositionCount, rankPositions, type Partition, type PartitionArgs } from "../shuffle/partition.js";
import { shufflePositions } from "../shuffle/positions.js";
import type { BigToSmall } from "./big-to-small.js";
import { Stream, type StreamOptions } from "./stream.js";
import { resample, streamChoose } from "./weights.js";

export interface World {
  numNodes: number;
  ranksPerNode: number;
  /** Global rank of this process (node = floor(rank / ranksPerNode)). */
  rank: number;
  workersPerRank: number;
}

export interface StreamingDatasetOptions extends Omit<StreamOptions, "proportion" | "repeat" | "choose"> {
  /** Several streams (each with its own remote/local/split and weight); else remote/local/split above. */
  streams?: StreamOptions[];
  shuffle?: boolean;
  shuffleAlgo?: string;
  shuffleSeed?: number;
  shuffleBlockSize?: number;
  numCanonicalNodes?: number;
  partitionAlgo?: "orig" | "relaxed";
  /** Per-device batch size (the partition depends on it). Default 1. */
  batchSize?: number;
  epochSize?: number;
  samplingMethod?: "balanced" | "fixed";
  samplingGranularity?: number;
  world?: Partial<World>;
  initialPhysicalNodes?: number | null;
  /** Cache size limit (bytes or "10gb") for downloaded shards; least recently used are evicted. */
  cacheLimit?: number | string;
  /** Samples ahead of the yield position whose shards are prefetched (default 8 × batch size). */
  predownload?: number;
}

/**
 * An opened dataset as another thread can take it (structured-clonable): the options it was created
 * with and each stream's index.json as already fetched, parsed and checked. `StreamingDataset.reopen`
 * builds the same dataset from it without reading or downloading any index again.
 */
export interface OpenedDataset {
  options: StreamingDatasetOptions;
  indexes: MdsIndex[];
}

export interface StreamingState {
  epoch: number;
  sample_in_epoch: number;
  num_canonical_nodes: number;
  shuffle_seed: number;
  initial_physical_nodes: number | null;
}

export class StreamingDataset {
  readonly streams: Stream[];
  readonly world: World;
  readonly shuffle: boolean;
  readonly shuffleAlgo: string;
  shuffleSeed: number;
  numCanonicalNodes: number;
  readonly shuffleBlockSizeOpt: number | undefined;
  readonly partitionAlgo: "orig" | "relaxed";
  readonly batchSize: number;
  readonly predownload: number;
  readonly cacheLimit: number | null;
  readonly samplingBalanced: boolean;
  readonly samplingGranularity: number;
  initialPhysicalNodes: number | null;
  /** Per global shard: stream id, entry, global sample offset. */
  shardStream: number[] = [];
  shardOffset: number[] = [];
  shardSizes: number[] = [];
  streamChoose: number[] = [];
  epochSize = 0;
  private readonly opts: StreamingDatasetOptions;
  private nextEpoch = 0;
  private resumeState: StreamingState | null = null;
  private perRankCache: { key: string; value: number } | null = null;
  private current: { epoch: number; offset: number; yielded: number } | null = null;
  private readonly loaded = new Map<number, Promise<RawShard>>();
  private readonly lastUse = new Map<number, number>();
  private useClock = 0;
  private cacheUsage = 0;

  private constructor(opts: StreamingDatasetOptions) {
    this.opts = opts;
    const base: StreamOptions = {
      remote: opts.remote, local: opts.local, split: opts.split, validateHash: opts.validateHash,
      keepZip: opts.keepZip, downloadTimeoutMs: opts.downloadTimeoutMs, downloadRetry: opts.downloadRetry, maxShardBytes: opts.maxShardBytes,
    };
    this.streams = (opts.streams?.length ? opts.streams.map((s) => ({ ...base, ...s })) : [base]).map((s) => new Stream(s));
    const w = opts.world ?? {};
    this.world = { numNodes: w.numNodes ?? 1, ranksPerNode: w.ranksPerNode ?? 1, rank: w.rank ?? 0, workersPerRank: w.workersPerRank ?? 1 };
    const { numNodes, ranksPerNode, rank, workersPerRank } = this.world;
    for (const [k, v] of Object.entries({ numNodes, ranksPerNode, workersPerRank })) {
      if (!Number.isInteger(v) || v < 1) throw new Error(`StreamingDataset: world.${k} must be a positive integer, got ${v}`);
    }
    if (!Number.isInteger(rank) || rank < 0 || rank >= numNodes * ranksPerNode) {
      throw new Error(`StreamingDataset: world.rank must be in 0..${numNodes * ranksPerNode - 1}, got ${rank}`);
    }
    this.shuffle = opts.shuffle ?? false;
    this.shuffleAlgo = opts.shuffleAlgo ?? "py1e";
    this.shuffleSeed = opts.shuffleSeed ?? 9176;
    if (!Number.isInteger(this.shuffleSeed) || this.shuffleSeed < 0) throw new Error(`StreamingDataset: shuffleSeed must be a non-negative integer, got ${this.shuffleSeed}`);
    this.numCanonicalNodes = opts.numCanonicalNodes ?? (["py1s", "py2s"].includes(this.shuffleAlgo) ? 64 * numNodes : numNodes);
    this.shuffleBlockSizeOpt = opts.shuffleBlockSize;
    this.partitionAlgo = opts.partitionAlgo ?? "relaxed";
    this.batchSize = opts.batchSize ?? 1;
    if (!Number.isInteger(this.batchSize) || this.batchSize < 1) throw new Error(`StreamingDataset: batchSize must be a positive integer, got ${this.batchSize}`);
    this.predownload = opts.predownload ?? 8 * this.batchSize;
    this.cacheLimit = opts.cacheLimit === undefined ? null : parseByteSize(opts.cacheLimit, "cacheLimit");
    this.samplingBalanced = (opts.samplingMethod ?? "balanced") === "balanced";
    this.samplingGranularity = opts.samplingGranularity ?? 1;
    this.initialPhysicalNodes = opts.initialPhysicalNodes ?? null;
  }

  /** Open every stream (downloading index.json files for remotes). */
  static async create(opts: StreamingDatasetOptions): Promise<StreamingDataset> {
    const ds = new StreamingDataset(opts);
    await Promise.all(ds.streams.map((s) => s.init()));
    ds.layOut();
    return ds;
  }

  /** This dataset as another thread can take it (`reopen`): its options and its streams' parsed indexes. */
  opened(): OpenedDataset {
    return { options: this.opts, indexes: this.streams.map((s) => s.index) };
  }

  /**
   * The dataset `opened()` describes, on this thread, without touching any index.json: the same sample
   * ids, order and shards. Shards themselves are read (or downloaded) on demand, as by `create`.
   */
  static reopen(o: OpenedDataset): StreamingDataset {
    const ds = new StreamingDataset(o.options);
    if (o.indexes.length !== ds.streams.length) throw new Error(`StreamingDataset.reopen: ${o.indexes.length} indexes for ${ds.streams.length} streams`);
    ds.streams.forEach((s, i) => s.adopt(o.indexes[i]!));
    ds.layOut();
    return ds;
  }

  /** Global shard table, stream sizes per epoch and cache usage, from the streams' indexes. */
  private layOut(): void {
    const ds = this;
    const opts = this.opts;
    let offset = 0;
    ds.streams.forEach((st, sid) => {
      for (const e of st.index.shards) {
        ds.shardStream.push(sid);
        ds.shardOffset.push(offset);
        ds.shardSizes.push(e.samples);
        offset += e.samples;
      }
    });
    // Sample ids are 32-bit (Uint32Array orders): a larger claim is refused before any order is built.
    if (offset > 0xffffffff) throw new Error(`StreamingDataset: the streams' index.json files list ${offset} samples in all; at most ${0xffffffff} are supported`);
    const sizes = ds.streams.map((s) => s.numSamples);
    ds.streamChoose = streamChoose(ds.streams.map((s) => s.opts), sizes, opts.epochSize ?? null, ds.shuffleSeed);
    ds.epochSize = ds.streamChoose.reduce((a, b) => a + b, 0);
    if (ds.epochSize > 0xffffffff) throw new Error(`StreamingDataset: an epoch of ${ds.epochSize} samples (stream weights × sizes); at most ${0xffffffff} are supported`);
    if (ds.cacheLimit !== null) {
      const biggest = Math.max(...ds.streams.flatMap((s) => s.index.shards.map((e) => e.raw_data.bytes + (e.zip_data?.bytes ?? 0))));
      if (ds.cacheLimit < 4 * biggest) {
        throw new Error(`StreamingDataset: cacheLimit ${ds.cacheLimit} is below 4 × the largest shard (raw+zip ${biggest} bytes)`);
      }
      ds.streams.forEach((st) => st.index.shards.forEach((e) => {
        if (st.isLocal(e)) ds.cacheUsage += st.cacheBytes(e);
      }));
    }
  }

  /** Underlying samples over all streams. */
  get size(): number {
    return this.shardOffset.length ? this.shardOffset.at(-1)! + this.shardSizes.at(-1)! : 0;
  }

  get numRanks(): number {
    return this.world.numNodes * this.world.ranksPerNode;
  }

  /** Samples per rank per epoch (the reference's __len__). */
  get length(): number {
    return Math.ceil(this.epochSize / this.numRanks);
  }

  /**
   * Samples this rank yields in a whole epoch: its share of the partition (canonical-node row
   * padding and rank padding included, −1 batch padding excluded), which can exceed `length` on
   * small datasets. The partition's shape does not depend on the epoch or the shuffle, so it is
   * computed once per (canonical nodes, initial physical nodes).
   */
  get samplesPerRankPerEpoch(): number {
    const key = `${this.numCanonicalNodes}/${this.initialPhysicalNodes}`;
    if (this.perRankCache?.key !== key) {
      const { node, rank } = this.nodeRank();
      this.perRankCache = { key, value: rankPositionCount(this.partitionAlgo, this.partitionArgs(0), node, rank) };
    }
    return this.perRankCache.value;
  }

  private partitionArgs(sampleInEpoch: number): PartitionArgs {
    return {
      numSamples: this.epochSize, numCanonicalNodes: this.numCanonicalNodes, numPhysicalNodes: this.world.numNodes,
      ranksPerNode: this.world.ranksPerNode, workersPerRank: this.world.workersPerRank, batchSize: this.batchSize,
      dropFirst: sampleInEpoch, initialPhysicalNodes: this.initialPhysicalNodes,
      // Deliberately beyond the reference (which refuses sample_in_epoch > N + world − N mod world):
      // sample_in_epoch counts padded positions, so a checkpoint inside the last padded batches resumes.
      resumeInPadding: true,
    };
  }

  private nodeRank(): { node: number; rank: number } {
    return { node: Math.floor(this.world.rank / this.world.ranksPerNode), rank: this.world.rank % this.world.ranksPerNode };
  }

  /**
   * Every stream taken whole, once (no weights, epoch size = dataset size): resampling is the
   * identity, with one shuffle unit per non-empty shard — skip building the big->small id map.
   */
  private get resampleIsIdentity(): boolean {
    return this.streams.every((s, i) => this.streamChoose[i] === s.numSamples);
  }

  private epochUnits(epoch: number): { units: number[]; bigToSmall: BigToSmall | null } {
    if (this.resampleIsIdentity) return { units: this.shardSizes.filter((n) => n > 0), bigToSmall: null };
    const streams = this.streams.map((s, i) => ({
      choose: this.streamChoose[i]!,
      shardSizes: s.index.shards.map((e) => e.samples),
      sampleOffset: this.shardOffset[this.shardStream.indexOf(i)]!,
    }));
    return resample(streams, this.shuffleSeed, epoch, this.samplingGranularity, this.samplingBalanced);
  }

  get shuffleBlockSize(): number {
    return this.shuffleBlockSizeOpt ?? Math.max(Math.floor(4_000_000 / this.numCanonicalNodes), 1 << 18);
  }

  /** The whole epoch's sample ids, [node][rank][worker] -> ids in batch order (−1 = padding). */
  epochWork(epoch: number, sampleInEpoch = 0): Partition {
    const { units, bigToSmall } = this.epochUnits(epoch);
    const part = getPartition(this.partitionAlgo, this.partitionArgs(sampleInEpoch));
    const shuffled = this.shuffle ? getShuffle(this.shuffleAlgo, units, this.numCanonicalNodes, this.shuffleSeed, epoch, this.shuffleBlockSize) : null;
    for (const node of part) for (const rank of node) for (const worker of rank) {
      for (let k = 0; k < worker.length; k++) {
        const big = worker[k]!;
        if (big === -1) continue;
        const b = shuffled ? shuffled[big]! : big;
        worker[k] = bigToSmall ? bigToSmall.small(b) : b;
      }
    }
    return part;
  }

  /**
   * This rank's ids for the epoch in DataLoader order (workers round-robin by batch), −1 dropped.
   * Built for this rank alone (see rankPositions / shufflePositions): at C4 scale (365 M samples)
   * one rank of 8 holds 46 M ids (183 MB) instead of whole-epoch arrays.
   */
  rankOrder(epoch: number, sampleInEpoch = 0): Uint32Array {
    const { node, rank } = this.nodeRank();
    const { units, bigToSmall } = this.epochUnits(epoch);
    const ids = rankPositions(this.partitionAlgo, this.partitionArgs(sampleInEpoch), node, rank);
    if (this.shuffle) shufflePositions(ids, this.shuffleAlgo, units, this.numCanonicalNodes, this.shuffleSeed, epoch, this.shuffleBlockSize);
    // Only this rank's positions are mapped; the map is per shard, not per big id (big-to-small.ts).
    if (bigToSmall) bigToSmall.mapInPlace(ids);
    return ids;
  }

  /** Locate a global sample id: (shard, index in shard). */
  locate(id: number): { shard: number; indexInShard: number } {
    let lo = 0;
    let hi = this.shardOffset.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.shardOffset[mid]! <= id) lo = mid;
      else hi = mid - 1;
    }
    while (lo + 1 < this.shardOffset.length && this.shardOffset[lo + 1]! <= id) lo++;
    return { shard: lo, indexInShard: id - this.shardOffset[lo]! };
  }

  private async makeRoom(shard: number): Promise<void> {
    if (this.cacheLimit === null) return;
    const st = this.streams[this.shardStream[shard]!]!;
    const e = this.entryOf(shard);
    if (st.isLocal(e)) return;
    const need = e.raw_data.bytes + (e.zip_data?.bytes ?? 0);
    while (this.cacheUsage + need > this.cacheLimit) {
      const victims = [...this.lastUse.entries()].filter(([s]) => s !== shard && this.streams[this.shardStream[s]!]!.remoteDir && this.streams[this.shardStream[s]!]!.isLocal(this.entryOf(s)));
      if (!victims.length) break;
      victims.sort((a, b) => a[1] - b[1]);
      const v = victims[0]![0];
      this.cacheUsage -= this.streams[this.shardStream[v]!]!.evict(this.entryOf(v));
      this.loaded.delete(v);
      this.lastUse.delete(v);
    }
  }

  private entryOf(shard: number) {
    const sid = this.shardStream[shard]!;
    const first = this.shardStream.indexOf(sid);
    return this.streams[sid]!.index.shards[shard - first]!;
  }

  /** Load (downloading if needed) a shard; concurrent calls share one load. */
  private shardData(shard: number): Promise<RawShard> {
    this.lastUse.set(shard, ++this.useClock);
    let p = this.loaded.get(shard);
    if (!p) {
      const st = this.streams[this.shardStream[shard]!]!;
      p = (async () => {
        await this.makeRoom(shard);
        const wasLocal = st.isLocal(this.entryOf(shard));
        const raw = await st.fetchAndLoad(shard - this.shardStream.indexOf(this.shardStream[shard]!));
        if (!wasLocal) this.cacheUsage += st.cacheBytes(this.entryOf(shard));
        return raw;
      })();
      p.catch(() => this.loaded.delete(shard));
      this.loaded.set(shard, p);
      // Keep at most a few decoded shards in memory; files stay in the cache.
      const maxInMemory = 8;
      if (this.loaded.size > maxInMemory) {
        const coldest = [...this.loaded.keys()].filter((s) => s !== shard).sort((a, b) => (this.lastUse.get(a) ?? 0) - (this.lastUse.get(b) ?? 0))[0];
        if (coldest !== undefined) this.loaded.delete(coldest);
      }
    }
    return p;
  }

  /** Column bytes of a sample by global id (downloading its shard if needed); `file` names the shard. */
  async getRaw(id: number): Promise<RawSample & { file: string }> {
    if (!Number.isInteger(id) || id < 0 || id >= this.size) throw new Error(`StreamingDataset: sample ${id} out of range 0..${this.size - 1}`);
    const { shard, indexInShard } = this.locate(id);
    const raw = await this.shardData(shard);
    return { shard, indexInShard, columns: raw.columns(indexInShard), entry: raw.entry, file: raw.file };
  }

  /** Decoded sample by global id. */
  async get(id: number): Promise<Record<string, unknown>> {
    const r = await this.getRaw(id);
    return decodeColumns(r, `${r.file} sample ${r.indexInShard}`);
  }

  /**
   * Iterate this rank's samples for the next epoch (or the resumed one), prefetching the shards of
   * the next `predownload` samples in the background.
   */
  async *[Symbol.asyncIterator](): AsyncGenerator<Record<string, unknown>> {
    let epoch = this.nextEpoch;
    let offset = 0;
    if (this.resumeState && this.resumeState.epoch >= epoch) {
      epoch = this.resumeState.epoch;
      offset = this.resumeState.sample_in_epoch;
      this.numCanonicalNodes = this.resumeState.num_canonical_nodes;
      this.shuffleSeed = this.resumeState.shuffle_seed;
    }
    this.resumeState = null;
    this.nextEpoch = epoch + 1;
    // `offset` is a position in the padded epoch: resuming inside the padding (or at its end) is valid
    // (partitionArgs: resumeInPadding).
    const ids = this.rankOrder(epoch, offset);
    this.current = { epoch, offset, yielded: 0 };
    let prefetched = 0;
    for (let i = 0; i < ids.length; i++) {
      for (; prefetched < Math.min(ids.length, i + 1 + this.predownload); prefetched++) {
        void this.shardData(this.locate(ids[prefetched]!).shard).catch(() => undefined);
      }
      const sample = await this.get(ids[i]!);
      this.current.yielded++;
      yield sample;
    }
  }

  /**
   * Resume state. With no argument: samples yielded on this rank × ranks since the epoch (re)start,
   * as StreamingDataLoader counts. With `numSamples`: that count (globally, like Composer).
   */
  stateDict(numSamples?: number, fromBeginning = true): StreamingState {
    const epoch = this.current?.epoch ?? Math.max(0, this.nextEpoch - 1);
    const offset = this.current?.offset ?? 0;
    const sampleInEpoch = numSamples === undefined ? offset + (this.current?.yielded ?? 0) * this.numRanks : fromBeginning ? numSamples : offset + numSamples;
    return {
      epoch, sample_in_epoch: sampleInEpoch, num_canonical_nodes: this.numCanonicalNodes,
      shuffle_seed: this.shuffleSeed, initial_physical_nodes: this.initialPhysicalNodes ?? this.world.numNodes,
    };
  }

  /** Apply a state at the next iteration (ignored if its epoch is older than the next one). */
  loadStateDict(state: StreamingState): void {
    for (const k of ["epoch", "sample_in_epoch", "num_canonical_nodes", "shuffle_seed"] as const) {
      if (!Number.isInteger(state[k]) || state[k] < 0) throw new Error(`loadStateDict: ${k} must be a non-negative integer, got ${JSON.stringify(state[k])}`);
    }
    this.resumeState = { ...state };
    if (state.initial_physical_nodes !== undefined && state.initial_physical_nodes !== null) this.initialPhysicalNodes = state.initial_physical_nodes;
  }
}
