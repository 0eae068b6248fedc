import { createServer, connect, type Server, type Socket } from "node:net";
import type { Tensor } from "@mosaicbert/tensor";
import type { Communicator } from "./communicator.js";

/**
 * A TCP communicator for CPU runs (and any backend without NCCL): rank 0 listens on
 * MASTER_ADDR:MASTER_PORT, the other ranks connect to it (a star). Collectives go through rank 0,
 * which reduces in rank order 0, 1, …, W−1, so results are deterministic and identical on every
 * rank. Bandwidth is that of one host link: meant for CPU data parallelism and tests, not for
 * large GPU jobs (use the NCCL communicator there).
 *
 * Frames: u32 byte length, then a float32 payload. The order of frames is the order of calls,
 * which every rank makes identically.
 */
class FrameReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private waiters: Array<{ resolve: (b: Buffer) => void; reject: (e: Error) => void }> = [];
  private error: Error | null = null;

  constructor(private readonly socket: Socket, public peer: string) {
    socket.on("data", (d: Buffer) => {
      this.chunks.push(d);
      this.buffered += d.length;
      this.drain();
    });
    const fail = (e: Error) => {
      this.error = e;
      for (const w of this.waiters.splice(0)) w.reject(e);
    };
    socket.on("error", (e) => fail(new Error(`communicator: connection to ${this.peer} failed: ${e.message}`)));
    socket.on("close", () => fail(new Error(`communicator: ${this.peer} closed the connection (did that process exit?)`)));
  }

  private take(n: number): Buffer {
    let first = this.chunks[0]!;
    if (first.length < n) {
      // Gather just enough chunks to cover n bytes.
      let have = 0;
      let k = 0;
      while (have < n) have += this.chunks[k++]!.length;
      first = Buffer.concat(this.chunks.slice(0, k));
      this.chunks.splice(0, k, first);
    }
    const out = first.subarray(0, n);
    const rest = first.subarray(n);
    if (rest.length) this.chunks[0] = rest;
    else this.chunks.shift();
    this.buffered -= n;
    return out;
  }

  private drain(): void {
    while (this.waiters.length > 0 && this.buffered >= 4) {
      // Only the 4 length bytes are looked at until the whole frame has arrived: concatenating
      // on every chunk would copy a large frame once per 64 KiB received.
      if (this.chunks[0]!.length < 4) this.chunks = [Buffer.concat(this.chunks)];
      const len = this.chunks[0]!.readUInt32LE(0);
      if (this.buffered < 4 + len) return;
      this.take(4);
      // Copy: the payload outlives the socket's buffer.
      const payload = Buffer.from(this.take(len));
      this.waiters.shift()!.resolve(payload);
    }
  }

  next(): Promise<Buffer> {
    if (this.error) return Promise.reject(this.error);
    return new Promise((resolve, reject) => {
      this.waiters.push({ resolve, reject });
      this.drain();
    });
  }
}

function send(socket: Socket, payload: Uint8Array): Promise<void> {
  const head = Buffer.alloc(4);
  head.writeUInt32LE(payload.byteLength, 0);
  return new Promise((resolve, reject) => {
    socket.write(head);
    socket.write(payload, (e) => (e ? reject(e) : resolve()));
  });
}

const asBytes = (a: Float32Array): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
const asFloats = (b: Buffer): Float32Array => {
  const copy = new Float32Array(b.byteLength / 4);
  new Uint8Array(copy.buffer).set(b);
  return copy;
};

export interface SocketCommOptions {
  rank: number;
  worldSize: number;
  /** Default 127.0.0.1. */
  masterAddr?: string;
  masterPort: number;
  /** How long non-zero ranks keep retrying to reach rank 0, and rank 0 waits for them. Default 60 s. */
  timeoutMs?: number;
}

export class SocketCommunicator implements Communicator {
  readonly kind = "socket";
  private closed = false;

  private constructor(
    readonly rank: number,
    readonly worldSize: number,
    private readonly server: Server | null,
    /** Rank 0: one socket per rank (index 0 unused). Others: [socket to rank 0]. */
    private readonly peers: Socket[],
    private readonly readers: FrameReader[],
  ) {}

  static async connect(o: SocketCommOptions): Promise<SocketCommunicator> {
    const { rank, worldSize } = o;
    if (!Number.isInteger(worldSize) || worldSize < 1) throw new RangeError(`WORLD_SIZE must be a positive integer, got ${worldSize}`);
    if (!Number.isInteger(rank) || rank < 0 || rank >= worldSize) throw new RangeError(`RANK must be an integer in [0, ${worldSize}), got ${rank}`);
    if (!Number.isInteger(o.masterPort) || o.masterPort <= 0 || o.masterPort > 65535) throw new RangeError(`MASTER_PORT must be a port number, got ${o.masterPort}`);
    const addr = o.masterAddr ?? "127.0.0.1";
    const timeoutMs = o.timeoutMs ?? 60_000;
    if (rank === 0) return SocketCommunicator.listen(worldSize, addr, o.masterPort, timeoutMs);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const s = await new Promise<Socket>((resolve, reject) => {
          const sock = connect({ host: addr, port: o.masterPort }, () => resolve(sock));
          sock.once("error", reject);
        });
        s.setNoDelay(true);
        const hello = new Uint32Array([rank, worldSize]);
        await send(s, new Uint8Array(hello.buffer));
        const reader = new FrameReader(s, `rank 0 at ${addr}:${o.masterPort}`);
        return new SocketCommunicator(rank, worldSize, null, [s], [reader]);
      } catch (e) {
        if (Date.now() > deadline) throw new Error(`communicator: rank ${rank} could not reach rank 0 at ${addr}:${o.masterPort} within ${timeoutMs} ms: ${(e as Error).message}`);
        await new Promise((r) => setTimeout(r, 100));
      }
    }
  }

  private static listen(worldSize: number, addr: string, port: number, timeoutMs: number): Promise<SocketCommunicator> {
    return new Promise((resolve, reject) => {
      const peers: Socket[] = new Array<Socket>(worldSize);
      const readers: FrameReader[] = new Array<FrameReader>(worldSize);
      let joined = 1;
      const server = createServer((s) => {
        s.setNoDelay(true);
        // The reader is attached at once so no byte sent after the hello is lost.
        const reader = new FrameReader(s, "a joining process");
        reader.next().then(
          (hello) => {
            const r = hello.length === 8 ? hello.readUInt32LE(0) : -1;
            const w = hello.length === 8 ? hello.readUInt32LE(4) : -1;
            if (w !== worldSize || r < 1 || r >= worldSize || peers[r]) {
              s.destroy();
              reject(new Error(`communicator: a process joined as rank ${r} of ${w}, expected a distinct rank in [1, ${worldSize}) of ${worldSize}`));
              return;
            }
            peers[r] = s;
            readers[r] = reader;
            reader.peer = `rank ${r}`;
            if (++joined === worldSize) {
              clearTimeout(timer);
              resolve(new SocketCommunicator(0, worldSize, server, peers, readers));
            }
          },
          (e: Error) => reject(e),
        );
      });
      const timer = setTimeout(() => {
        server.close();
        reject(new Error(`communicator: only ${joined} of ${worldSize} ranks joined ${addr}:${port} within ${timeoutMs} ms`));
      }, timeoutMs);
      server.once("error", (e) => reject(new Error(`communicator: rank 0 cannot listen on ${addr}:${port}: ${e.message}`)));
      if (worldSize === 1) {
        clearTimeout(timer);
        resolve(new SocketCommunicator(0, 1, null, [], []));
        return;
      }
      server.listen(port, addr);
    });
  }

  private read(t: Tensor): Float32Array {
    if (t.dtype !== "f32") throw new TypeError(`communicator: expected a float32 tensor, got ${t.dtype}`);
    return Float32Array.from(t.backend.read(t) as Float32Array);
  }

  async allReduce(t: Tensor, op: "sum" | "mean" = "sum"): Promise<void> {
    if (this.worldSize === 1) return;
    const local = this.read(t);
    if (this.rank === 0) {
      const parts = await Promise.all(this.readers.slice(1).map((r) => r.next()));
      const acc = local;
      for (const p of parts) {
        const x = asFloats(p);
        if (x.length !== acc.length) throw new Error(`communicator: allReduce size mismatch: rank 0 has ${acc.length} values, a peer sent ${x.length}`);
        for (let i = 0; i < acc.length; i++) acc[i]! += x[i]!;
      }
      if (op === "mean") {
        const s = 1 / this.worldSize;
        for (let i = 0; i < acc.length; i++) acc[i]! *= s;
      }
      await Promise.all(this.peers.slice(1).map((p) => send(p, asBytes(acc))));
      t.backend.write(t, acc);
    } else {
      await send(this.peers[0]!, asBytes(local));
      const res = asFloats(await this.readers[0]!.next());
      t.backend.write(t, res);
    }
  }

  async broadcast(t: Tensor, root = 0): Promise<void> {
    if (root < 0 || root >= this.worldSize) throw new RangeError(`broadcast: root ${root} is not a rank of this ${this.worldSize}-process run`);
    if (this.worldSize === 1) return;
    if (this.rank === 0) {
      let data = this.read(t);
      if (root !== 0) data = asFloats(await this.readers[root]!.next());
      await Promise.all(this.peers.slice(1).map((p) => send(p, asBytes(data))));
      if (root !== 0) t.backend.write(t, data);
    } else {
      if (this.rank === root) await send(this.peers[0]!, asBytes(this.read(t)));
      const res = asFloats(await this.readers[0]!.next());
      if (this.rank !== root) t.backend.write(t, res);
    }
  }

  async barrier(): Promise<void> {
    if (this.worldSize === 1) return;
    const token = new Float32Array(1);
    if (this.rank === 0) {
      await Promise.all(this.readers.slice(1).map((r) => r.next()));
      await Promise.all(this.peers.slice(1).map((p) => send(p, asBytes(token))));
    } else {
      await send(this.peers[0]!, asBytes(token));
      await this.readers[0]!.next();
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const p of this.peers) p?.end();
    if (this.server) await new Promise<void>((r) => this.server!.close(() => r()));
  }
}
