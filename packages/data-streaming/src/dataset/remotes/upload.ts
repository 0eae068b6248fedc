/**
 * Publishing a dataset to an object store, as the reference's MDSWriter with a remote `out`: each
 * shard is uploaded as soon as it is written (a few at a time, then removed locally), and index.json
 * goes up last, once every shard is there, so a reader never sees an index naming missing shards.
 */
import fs from "node:fs";
import { openObjectUrl, RemoteError, type ObjectStore } from "./index.js";

export interface UploaderOptions {
  /** Replace a dataset already at the URL (its index.json is deleted first). */
  overwrite?: boolean;
  /** Uploads in flight at once (default 4). */
  concurrency?: number;
  /** Attempts per upload for transient failures (default 3). */
  attempts?: number;
  /**
   * Time limit of one request (listing, deleting, one upload) before it is cancelled and retried:
   * this plus 2 s per MiB uploaded (default 120 s).
   */
  timeoutMs?: number;
}

export class DatasetUploader {
  private readonly inFlight = new Set<Promise<void>>();
  private failure: unknown = null;
  /** Shards waiting for one Hub commit (hf:// commits many files at once). */
  private batch: Array<[string, string]> = [];

  private constructor(readonly url: string, private readonly store: ObjectStore, private readonly prefix: string, private readonly o: UploaderOptions) {}

  /** Opens `url` for writing; refuses a URL that already holds index.json unless `overwrite`. */
  static async open(url: string, o: UploaderOptions = {}): Promise<DatasetUploader> {
    const { store, key } = await openObjectUrl(url);
    const prefix = key ? `${key}/` : "";
    const index = `${prefix}index.json`;
    // Said before converting, not after the first shard.
    if (url.startsWith("hf://") && !process.env.HF_TOKEN) throw new RemoteError(`${store.where(index)}: writing to the Hub needs a write token in HF_TOKEN`, true);
    const signal = () => AbortSignal.timeout(o.timeoutMs ?? 120_000);
    // A listing, not a HEAD: a missing bucket or bad credentials fail here, before any conversion.
    if ((await store.list(index, { signal: signal() })).some((x) => x.key === index)) {
      if (!o.overwrite) throw new RemoteError(`${store.where(index)} already exists (pass --overwrite to replace the dataset)`, true);
      // Readers see no dataset while it is rewritten, never the old index over new shards.
      await store.remove(index, { signal: signal() });
    }
    return new DatasetUploader(url, store, prefix, o);
  }

  private get isHub(): boolean {
    return this.url.startsWith("hf://");
  }

  private async putWithRetries(files: Array<[string, string]>): Promise<void> {
    const attempts = this.o.attempts ?? 3;
    for (let a = 1; ; a++) {
      try {
        const bytes = files.reduce((a, [, f]) => a + fs.statSync(f).size, 0);
        await this.store.put(files, { signal: AbortSignal.timeout((this.o.timeoutMs ?? 120_000) + Math.ceil((bytes / 2 ** 20) * 2000)) });
        return;
      } catch (e) {
        if ((e instanceof RemoteError && e.permanent) || a >= attempts) throw e;
        await new Promise((r) => setTimeout(r, 200 * 2 ** a));
      }
    }
  }

  private launch(files: Array<[string, string]>): void {
    const p = this.putWithRetries(files)
      .then(() => files.forEach(([, f]) => fs.rmSync(f, { force: true })))
      .catch((e) => {
        this.failure ??= e;
      })
      .finally(() => this.inFlight.delete(p));
    this.inFlight.add(p);
  }

  /** Queues a written shard file; waits while too many uploads are in flight. */
  async add(file: string, basename: string): Promise<void> {
    if (this.failure) throw this.failure;
    if (this.isHub) {
      this.batch.push([this.prefix + basename, file]);
      if (this.batch.length < 32) return;
      const files = this.batch;
      this.batch = [];
      this.launch(files);
    } else this.launch([[this.prefix + basename, file]]);
    while (this.inFlight.size >= (this.isHub ? 1 : this.o.concurrency ?? 4)) await Promise.race(this.inFlight);
    if (this.failure) throw this.failure;
  }

  /** Waits for every shard, then uploads index.json. */
  async finish(indexFile: string): Promise<void> {
    if (this.batch.length) this.launch(this.batch.splice(0));
    while (this.inFlight.size) await Promise.race(this.inFlight);
    if (this.failure) throw this.failure;
    await this.putWithRetries([[`${this.prefix}index.json`, indexFile]]);
  }

  /** Lets uploads in flight settle (after a failed conversion). */
  async abort(): Promise<void> {
    await Promise.allSettled([...this.inFlight]);
  }
}
