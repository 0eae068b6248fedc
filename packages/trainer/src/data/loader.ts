import * as crypto from "node:crypto";
import * as os from "node:os";
import * as path from "node:path";
import { endpointVar, redactUrl, StreamingDataset, type StreamingState } from "@mosaicbert/data-streaming";

/**
 * Text loaders over MDS splits with a `text` column (what convert_dataset.py writes for C4),
 * through @mosaicbert/data-streaming's StreamingDataset with the reference loader's settings
 * (recipe.md §2: shuffle_algo py1s, shuffle_seed 9176, num_canonical_nodes 128, partition "orig",
 * batch_size = per-device batch), so the sample order — and which samples form each global batch,
 * for any number of processes — is mosaicml-streaming's. `remote` (s3://, gs://, hf://datasets/…,
 * http(s):// or file://) is downloaded into `local` shard by shard.
 */
export interface SplitSource {
  local: string;
  remote?: string | null;
  split: string;
}

export interface LoaderState {
  epoch: number;
  /** Global samples consumed in this epoch (Composer's count, what StreamingDataset resumes from). */
  samplesInEpoch: number;
  samplesSeen: number;
  /** StreamingDataset.stateDict() at that point. */
  streaming: StreamingState;
}

function describe(src: SplitSource): string {
  return src.remote ? `${redactUrl(src.remote)} (split ${src.split}, cached in ${src.local})` : path.join(src.local, src.split);
}

/** Opens a split, explaining a missing or column-less dataset in terms of the recipe keys. */
export async function openDataset(src: SplitSource, o: Partial<Parameters<typeof StreamingDataset.create>[0]> = {}): Promise<StreamingDataset> {
  let ds: StreamingDataset;
  try {
    ds = await StreamingDataset.create({ local: src.local, remote: src.remote ?? undefined, split: src.split, ...o });
  } catch (e) {
    throw new Error(`data: cannot open ${describe(src)}: ${(e as Error).message} (expected an MDS folder with ${src.split}/index.json; build one with \`mosaicbert data\` or pass --data DIR)`);
  }
  const names = ds.streams[0]?.index.shards[0]?.column_names ?? [];
  if (!names.includes("text")) throw new Error(`data: ${describe(src)}: expected a 'text' column (one document per sample), found ${names.join(", ") || "no columns"}`);
  if (ds.size === 0) throw new Error(`data: ${describe(src)} holds no samples`);
  return ds;
}

function textOf(sample: Record<string, unknown>): string {
  const v = sample.text;
  return typeof v === "string" ? v : new TextDecoder().decode(v as Uint8Array);
}

/** The `text` column of samples `ids`, in order. */
export async function readTexts(ds: StreamingDataset, ids: readonly number[]): Promise<string[]> {
  const texts: string[] = [];
  for (const id of ids) texts.push(textOf(await ds.get(id)));
  return texts;
}

/**
 * The local cache folder for a remote dataset URL (one per node: each machine has its own):
 * `~/.cache/mosaicbert/data/<readable name>-<hash>`. The readable part is the URL with other
 * characters than [A-Za-z0-9._-] turned into `_` (so names like http://h/a/b and http://h/a_b look
 * alike); the hash, of the whole URL and of the endpoint it is fetched from (S3_ENDPOINT_URL, …),
 * keeps them apart, as it does one s3:// URL on two endpoints. The readable part never shows a
 * secret: no password of user:password@ (nor a lone user name: often a token), no query (a signed URL's or SAS
 * token's signature); the hash covers them.
 */
export function cacheFolderFor(remote: string, env: NodeJS.ProcessEnv = process.env): string {
  const url = remote.replace(/\/+$/, "");
  const m = /^([a-z][a-z0-9+.-]*):\/\/(.*)$/i.exec(url);
  const scheme = m ? m[1]!.toLowerCase() : "";
  // user:password@ shows as user@, a lone user name (often a token) not at all; no query or fragment.
  const shown = m ? m[2]!.replace(/^([^/?#]*)@/, (_m, info: string) => (info.includes(":") ? `${info.slice(0, info.indexOf(":"))}@` : "")).replace(/[?#].*$/, "") : url;
  const readable = (m ? `${scheme}_${shown}` : url).replace(/[^A-Za-z0-9._-]+/g, "_").slice(0, 80);
  // Settings that change what a URL fetches (credentials do not: they decide whether a read is allowed).
  const endpoint = endpointVar(scheme, env)?.value ?? "";
  const key = crypto.createHash("sha256").update(JSON.stringify([m ? `${scheme}://${m[2]}` : url, endpoint])).digest("hex").slice(0, 16);
  return path.join(os.homedir(), ".cache", "mosaicbert", "data", `${readable}-${key}`);
}

/**
 * The training loader: per-device batches of `globalBatchSize / worldSize` documents, drop_last,
 * epochs back to back. Each epoch is StreamingDataset's order for this rank (`rankOrder`), which
 * also resumes mid-epoch: the order from a global sample offset. Each document comes with its
 * global sample id (masks are keyed on it, so they do not depend on which rank reads it).
 */
export class TrainTextLoader {
  private epoch = 0;
  private samplesInEpoch = 0;
  private samplesSeen = 0;
  /** This epoch's ids for this rank (a Uint32Array from StreamingDataset.rankOrder). */
  private order: ArrayLike<number> | null = null;
  private pos = 0;

  private constructor(
    readonly ds: StreamingDataset,
    readonly opts: { globalBatchSize: number; rank: number; worldSize: number },
  ) {}

  static async create(src: SplitSource, o: { globalBatchSize: number; rank: number; worldSize: number; shuffle: boolean; shuffleSeed: number }): Promise<TrainTextLoader> {
    const D = o.globalBatchSize / o.worldSize;
    const ds = await openDataset(src, {
      shuffle: o.shuffle, shuffleAlgo: "py1s", shuffleSeed: o.shuffleSeed, numCanonicalNodes: 128, partitionAlgo: "orig",
      batchSize: D, world: { numNodes: 1, ranksPerNode: o.worldSize, rank: o.rank, workersPerRank: 1 },
    });
    const loader = new TrainTextLoader(ds, o);
    if (loader.batchesPerEpoch === 0) {
      throw new Error(`data: ${describe(src)} gives ${ds.samplesPerRankPerEpoch} samples per process, fewer than one batch of ${D} (drop_last)`);
    }
    return loader;
  }

  /**
   * Full per-device batches per epoch (drop_last), from the dataset's own partition — the same
   * order nextIds() walks — so padded epochs of small datasets count their padding too.
   */
  get batchesPerEpoch(): number {
    return Math.floor(this.ds.samplesPerRankPerEpoch / (this.opts.globalBatchSize / this.opts.worldSize));
  }

  get samplesPerEpoch(): number {
    return this.batchesPerEpoch * this.opts.globalBatchSize;
  }

  get currentEpoch(): number {
    return this.epoch;
  }

  /** This rank's next batch: texts, their sample ids, and the epoch it belongs to. */
  async next(): Promise<{ texts: string[]; ids: number[]; epoch: number }> {
    const { ids, epoch } = this.nextIds();
    return { texts: await readTexts(this.ds, ids), ids, epoch };
  }

  /**
   * Advances by one batch like next() without reading the texts: its sample ids and epoch (the
   * batch producer's workers read them from their own handle on a local split).
   */
  nextIds(): { ids: number[]; epoch: number } {
    const G = this.opts.globalBatchSize;
    const D = G / this.opts.worldSize;
    for (let turns = 0; turns < 2; turns++) {
      this.order ??= this.ds.rankOrder(this.epoch, this.samplesInEpoch);
      if (this.pos + D <= this.order.length) {
        const order = this.order, at = this.pos;
        const ids = Array.from({ length: D }, (_, i) => order[at + i]!);
        this.pos += D;
        this.samplesInEpoch += G;
        this.samplesSeen += G;
        return { ids, epoch: this.epoch };
      }
      // End of the epoch: the partial batch is dropped, the next epoch begins.
      this.epoch++;
      this.samplesInEpoch = 0;
      this.order = null;
      this.pos = 0;
    }
    throw new Error("data: an epoch holds no full batch");
  }

  /** The loader position, with StreamingDataset's resume dict (as Composer checkpoints it). */
  state(): LoaderState {
    return {
      epoch: this.epoch,
      samplesInEpoch: this.samplesInEpoch,
      samplesSeen: this.samplesSeen,
      streaming: {
        epoch: this.epoch,
        sample_in_epoch: this.samplesInEpoch,
        num_canonical_nodes: this.ds.numCanonicalNodes,
        shuffle_seed: this.ds.shuffleSeed,
        initial_physical_nodes: this.ds.initialPhysicalNodes ?? this.ds.world.numNodes,
      },
    };
  }

  loadState(s: Partial<LoaderState>, where = "loader state"): void {
    for (const k of ["epoch", "samplesInEpoch", "samplesSeen"] as const) {
      if (!Number.isInteger(s[k]) || (s[k] as number) < 0) throw new Error(`${where}: ${k}: expected an integer ≥ 0, got ${JSON.stringify(s[k])}`);
    }
    if (s.streaming && s.streaming.shuffle_seed !== this.ds.shuffleSeed) {
      throw new Error(`${where}: streaming.shuffle_seed ${s.streaming.shuffle_seed} differs from this run's ${this.ds.shuffleSeed} (train_loader.dataset.shuffle_seed)`);
    }
    this.epoch = s.epoch!;
    this.samplesInEpoch = s.samplesInEpoch!;
    this.samplesSeen = s.samplesSeen!;
    this.order = null;
    this.pos = 0;
  }
}

/**
 * The fixed evaluation set: the first `numBatches` batches of `globalBatchSize` documents of the
 * split in stored order (all of it with −1), the last batch possibly short; each rank takes its
 * slice. Read through StreamingDataset, so a remote split is downloaded as needed.
 */
export async function evalTexts(src: SplitSource, o: { globalBatchSize: number; numBatches: number; rank: number; worldSize: number }): Promise<Array<{ texts: string[]; ids: number[] }>> {
  const ds = await openDataset(src, { shuffle: false });
  const n = o.numBatches < 0 ? ds.size : Math.min(ds.size, o.numBatches * o.globalBatchSize);
  const batches: Array<{ texts: string[]; ids: number[] }> = [];
  for (let start = 0; start < n; start += o.globalBatchSize) {
    const size = Math.min(o.globalBatchSize, n - start);
    const per = Math.ceil(size / o.worldSize);
    const lo = start + Math.min(size, o.rank * per);
    const hi = start + Math.min(size, (o.rank + 1) * per);
    const texts: string[] = [];
    const ids: number[] = [];
    for (let i = lo; i < hi; i++) {
      texts.push(textOf(await ds.get(i)));
      ids.push(i);
    }
    batches.push({ texts, ids });
  }
  return batches;
}
