import { createServer, connect, type Socket } from "node:net";
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
/** The rendezvous hello (rank r → rank 0) and its acknowledgement (rank 0 → rank r): four u32 each. */
const HELLO_MAGIC = 0x4d42_4831; // "MBH1"
const ACK_MAGIC = 0x4d42_4131; // "MBA1"
const HANDSHAKE_BYTES = 16;
const helloForm = (worldSize: number, jobId: number) => `a ${HANDSHAKE_BYTES}-byte hello (magic 0x${HELLO_MAGIC.toString(16)}, rank in [1, ${worldSize}), world size ${worldSize}, job ${jobId})`;

function handshake(magic: number, rank: number, worldSize: number, jobId: number): Uint8Array {
  return new Uint8Array(new Uint32Array([magic, rank, worldSize, jobId]).buffer);
}

function parseHandshake(b: Buffer): { magic: number; rank: number; worldSize: number; jobId: number } {
  return { magic: b.readUInt32LE(0), rank: b.readUInt32LE(4), worldSize: b.readUInt32LE(8), jobId: b.readUInt32LE(12) };
}

interface Waiter {
  expected: number;
  what: string;
  resolve: (b: Buffer) => void;
  reject: (e: Error) => void;
  timer?: NodeJS.Timeout;
}

/**
 * Reads length-prefixed frames from one socket. Every read names the exact byte size it expects
 * (the hello's fixed size, the collective's tensor): a frame of any other length fails the
 * connection as soon as its 4 length bytes arrive, before its payload is buffered. While nobody
 * waits for a frame the socket is paused, so a peer that runs ahead is held back by TCP rather than
 * buffered here.
 */
class FrameReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private waiters: Waiter[] = [];
  private error: Error | null = null;

  constructor(
    private readonly socket: Socket,
    public peer: string,
    /** Milliseconds a read waits before failing the connection (0: no limit). */
    public timeoutMs = 0,
  ) {
    socket.on("data", (d: Buffer) => {
      if (this.error) return;
      this.chunks.push(d);
      this.buffered += d.length;
      this.drain();
    });
    socket.on("error", (e) => this.fail(new Error(`communicator: connection to ${this.peer} failed: ${e.message}`)));
    socket.on("close", () => this.fail(new Error(`communicator: ${this.peer} closed the connection (did that process exit?)`)));
  }

  /** Fails every pending and later read with `e` and drops the connection. */
  fail(e: Error): void {
    if (this.error) return;
    this.error = e;
    this.chunks = [];
    this.buffered = 0;
    for (const w of this.waiters.splice(0)) {
      clearTimeout(w.timer);
      w.reject(e);
    }
    this.socket.destroy();
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
    while (!this.error && this.waiters.length > 0 && this.buffered >= 4) {
      // Only the 4 length bytes are looked at until the whole frame has arrived: concatenating
      // on every chunk would copy a large frame once per 64 KiB received.
      if (this.chunks[0]!.length < 4) this.chunks = [Buffer.concat(this.chunks)];
      const len = this.chunks[0]!.readUInt32LE(0);
      const w = this.waiters[0]!;
      if (len !== w.expected) {
        this.fail(new Error(`communicator: ${this.peer} sent a frame of ${len} bytes where ${w.what} (${w.expected} bytes) was expected; connection dropped`));
        return;
      }
      if (this.buffered < 4 + len) break;
      this.take(4);
      // Copy: the payload outlives the socket's buffer.
      const payload = Buffer.from(this.take(len));
      this.waiters.shift();
      clearTimeout(w.timer);
      w.resolve(payload);
    }
    if (this.error) return;
    // Nobody waits: hold the peer back (TCP flow control) instead of buffering what it sends.
    if (this.waiters.length === 0) this.socket.pause();
    else this.socket.resume();
  }

  /** The next frame, which must be exactly `expected` bytes long (`what` names it in errors). */
  next(expected: number, what: string, timeoutMs = this.timeoutMs): Promise<Buffer> {
    if (this.error) return Promise.reject(this.error);
    return new Promise((resolve, reject) => {
      const w: Waiter = { expected, what, resolve, reject };
      if (timeoutMs > 0) {
        w.timer = setTimeout(
          () => this.fail(new Error(`communicator: waited ${timeoutMs} ms for ${what} from ${this.peer} (is that process stuck or stopped?); connection dropped`)),
          timeoutMs,
        );
      }
      this.waiters.push(w);
      this.drain();
    });
  }
}

function send(socket: Socket, payload: Uint8Array, peer: string): Promise<void> {
  const head = Buffer.alloc(4);
  head.writeUInt32LE(payload.byteLength, 0);
  return new Promise((resolve, reject) => {
    socket.write(head);
    socket.write(payload, (e) => (e ? reject(new Error(`communicator: cannot send to ${peer} (did that process exit?): ${e.message}`)) : resolve()));
  });
}

const asBytes = (a: Float32Array): Uint8Array => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
const asFloats = (b: Buffer): Float32Array => {
  const copy = new Float32Array(b.byteLength / 4);
  new Uint8Array(copy.buffer).set(b);
  return copy;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function envMs(name: string): number | undefined {
  const v = process.env[name];
  if (v === undefined || v === "") return undefined;
  const n = Number(v);
  if (!Number.isFinite(n) || n < 0) throw new Error(`environment: ${name} must be a non-negative number of milliseconds, got ${JSON.stringify(v)}`);
  return n;
}

export interface SocketCommOptions {
  rank: number;
  worldSize: number;
  /** Default 127.0.0.1. */
  masterAddr?: string;
  masterPort: number;
  /**
   * How long non-zero ranks keep trying to reach rank 0 (and get its acknowledgement), and rank 0
   * waits for them. Default MOSAICBERT_RENDEZVOUS_TIMEOUT_MS or 60 s.
   */
  timeoutMs?: number;
  /**
   * Identifies the job: every rank must use the same (rank 0 drops hellos of another job). Default
   * MOSAICBERT_JOB_ID (the launcher sets one), else derived from MASTER_PORT and the world size.
   */
  jobId?: number;
  /** How long rank 0 keeps a connection that has not sent a valid hello. Default min(timeoutMs, 10 s). */
  helloTimeoutMs?: number;
  /**
   * How long a collective waits for a peer's data before failing (0: forever). Default
   * MOSAICBERT_COLLECTIVE_TIMEOUT_MS or 30 minutes.
   */
  collectiveTimeoutMs?: number;
}

interface Resolved {
  worldSize: number;
  addr: string;
  port: number;
  timeoutMs: number;
  jobId: number;
  helloTimeoutMs: number;
  collectiveTimeoutMs: number;
}

function jobIdOf(o: SocketCommOptions): number {
  if (o.jobId !== undefined) return o.jobId >>> 0;
  const env = process.env.MOSAICBERT_JOB_ID;
  if (env) {
    const n = Number(env);
    if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) throw new Error(`environment: MOSAICBERT_JOB_ID must be an integer in [0, 2^32), got ${JSON.stringify(env)}`);
    return n;
  }
  return ((o.masterPort << 16) ^ o.worldSize) >>> 0;
}

export class SocketCommunicator implements Communicator {
  readonly kind = "socket";
  private closed = false;

  private constructor(
    readonly rank: number,
    readonly worldSize: number,
    /** Rank 0: one socket per rank (index 0 unused). Others: [socket to rank 0]. */
    private readonly peers: Socket[],
    private readonly readers: FrameReader[],
  ) {}

  static async connect(o: SocketCommOptions): Promise<SocketCommunicator> {
    const { rank, worldSize } = o;
    if (!Number.isInteger(worldSize) || worldSize < 1) throw new RangeError(`WORLD_SIZE must be a positive integer, got ${worldSize}`);
    if (!Number.isInteger(rank) || rank < 0 || rank >= worldSize) throw new RangeError(`RANK must be an integer in [0, ${worldSize}), got ${rank}`);
    if (!Number.isInteger(o.masterPort) || o.masterPort <= 0 || o.masterPort > 65535) throw new RangeError(`MASTER_PORT must be a port number, got ${o.masterPort}`);
    const timeoutMs = o.timeoutMs ?? envMs("MOSAICBERT_RENDEZVOUS_TIMEOUT_MS") ?? 60_000;
    const r: Resolved = {
      worldSize,
      addr: o.masterAddr ?? "127.0.0.1",
      port: o.masterPort,
      timeoutMs,
      jobId: jobIdOf(o),
      helloTimeoutMs: o.helloTimeoutMs ?? Math.min(timeoutMs, 10_000),
      collectiveTimeoutMs: o.collectiveTimeoutMs ?? envMs("MOSAICBERT_COLLECTIVE_TIMEOUT_MS") ?? 30 * 60_000,
    };
    if (worldSize === 1) return new SocketCommunicator(0, 1, [], []);
    if (rank === 0) return SocketCommunicator.listen(r);
    return SocketCommunicator.join(rank, r);
  }

  /** A non-zero rank: connect to rank 0, send the hello, and wait for rank 0's acknowledgement (retrying until the deadline). */
  private static async join(rank: number, o: Resolved): Promise<SocketCommunicator> {
    const { addr, port, worldSize, jobId } = o;
    const where = `rank 0 at ${addr}:${port}`;
    const deadline = Date.now() + o.timeoutMs;
    let last: Error = new Error("no attempt");
    for (;;) {
      const left = Math.max(1, deadline - Date.now());
      let sock: Socket | null = null;
      try {
        sock = await new Promise<Socket>((resolve, reject) => {
          const s = connect({ host: addr, port });
          const timer = setTimeout(() => {
            s.destroy();
            reject(new Error("connect timed out"));
          }, left);
          s.once("connect", () => {
            clearTimeout(timer);
            resolve(s);
          });
          s.once("error", (e) => {
            clearTimeout(timer);
            reject(e);
          });
        });
        sock.setNoDelay(true);
        const reader = new FrameReader(sock, where);
        const ackP = reader.next(HANDSHAKE_BYTES, "the rendezvous acknowledgement", Math.max(1, deadline - Date.now()));
        await send(sock, handshake(HELLO_MAGIC, rank, worldSize, jobId), where);
        const ack = parseHandshake(await ackP);
        if (ack.magic !== ACK_MAGIC || ack.rank !== rank || ack.worldSize !== worldSize || ack.jobId !== jobId) {
          throw new Error(`${where} answered rank ${ack.rank} of ${ack.worldSize}, job ${ack.jobId} (magic 0x${ack.magic.toString(16)})`);
        }
        reader.timeoutMs = o.collectiveTimeoutMs;
        return new SocketCommunicator(rank, worldSize, [sock], [reader]);
      } catch (e) {
        sock?.destroy();
        last = e as Error;
        if (Date.now() >= deadline) {
          throw new Error(
            `communicator: rank ${rank} got no valid acknowledgement from ${where} within ${o.timeoutMs} ms ` +
              `(expected a ${HANDSHAKE_BYTES}-byte ack: magic 0x${ACK_MAGIC.toString(16)}, rank ${rank}, world size ${worldSize}, job ${jobId}; is rank 0 of this job listening there?): ${last.message}`,
          );
        }
        await sleep(Math.min(100, Math.max(0, deadline - Date.now())));
      }
    }
  }

  /**
   * Rank 0: accept the other ranks. A connection that closes or sends anything but a valid hello
   * of this job is dropped; the rendezvous fails only when not every rank has joined in time (or the
   * port cannot be listened on), and then everything it opened is closed. Once all ranks have
   * joined the server stops listening.
   */
  private static listen(o: Resolved): Promise<SocketCommunicator> {
    const { worldSize, addr, port, jobId } = o;
    return new Promise((resolve, reject) => {
      const peers: Socket[] = new Array<Socket>(worldSize);
      const readers: FrameReader[] = new Array<FrameReader>(worldSize);
      const pending = new Set<Socket>();
      let joined = 1;
      let dropped = 0;
      let lastDrop = "";
      let settled = false;
      const finish = () => {
        settled = true;
        clearTimeout(timer);
        server.close();
        for (const s of pending) s.destroy();
        pending.clear();
      };
      const fail = (e: Error) => {
        if (settled) return;
        finish();
        for (const p of peers) p?.destroy();
        reject(e);
      };
      const drop = (s: Socket, why: string) => {
        dropped++;
        lastDrop = why;
        pending.delete(s);
        s.destroy();
      };
      const server = createServer((s) => {
        if (settled) return void s.destroy();
        pending.add(s);
        s.setNoDelay(true);
        const from = `${s.remoteAddress}:${s.remotePort}`;
        // The reader is attached at once so no byte sent after the hello is lost.
        const reader = new FrameReader(s, `a process connecting from ${from}`, o.helloTimeoutMs);
        reader.next(HANDSHAKE_BYTES, helloForm(worldSize, jobId)).then(
          (b) => {
            if (settled) return void s.destroy();
            const h = parseHandshake(b);
            if (h.magic !== HELLO_MAGIC || h.worldSize !== worldSize || h.jobId !== jobId || h.rank < 1 || h.rank >= worldSize || peers[h.rank]) {
              drop(s, `${from} sent a hello as rank ${h.rank} of ${h.worldSize}, job ${h.jobId} (magic 0x${h.magic.toString(16)}), expected ${helloForm(worldSize, jobId)}${peers[h.rank] ? " not yet taken" : ""}`);
              return;
            }
            pending.delete(s);
            peers[h.rank] = s;
            readers[h.rank] = reader;
            reader.peer = `rank ${h.rank} (${from})`;
            reader.timeoutMs = o.collectiveTimeoutMs;
            send(s, handshake(ACK_MAGIC, h.rank, worldSize, jobId), reader.peer).catch(() => {});
            if (++joined === worldSize) {
              finish();
              resolve(new SocketCommunicator(0, worldSize, peers, readers));
            }
          },
          (e: Error) => drop(s, e.message),
        );
      });
      const timer = setTimeout(() => {
        const drops = dropped ? `; dropped ${dropped} connection(s) without a valid hello (last: ${lastDrop})` : "";
        fail(new Error(`communicator: only ${joined} of ${worldSize} ranks joined ${addr}:${port} within ${o.timeoutMs} ms${drops}`));
      }, o.timeoutMs);
      server.once("error", (e) => fail(new Error(`communicator: rank 0 cannot listen on ${addr}:${port}: ${e.message}`)));
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
    const what = `an allReduce part (${local.length} float32 values)`;
    if (this.rank === 0) {
      const parts = await Promise.all(this.readers.slice(1).map((r) => r.next(local.byteLength, what)));
      const acc = local;
      for (const p of parts) {
        const x = asFloats(p);
        for (let i = 0; i < acc.length; i++) acc[i]! += x[i]!;
      }
      if (op === "mean") {
        const s = 1 / this.worldSize;
        for (let i = 0; i < acc.length; i++) acc[i]! *= s;
      }
      await this.sendToPeers(acc);
      t.backend.write(t, acc);
    } else {
      await send(this.peers[0]!, asBytes(local), this.readers[0]!.peer);
      const res = asFloats(await this.readers[0]!.next(local.byteLength, `an allReduce result (${local.length} float32 values)`));
      t.backend.write(t, res);
    }
  }

  async broadcast(t: Tensor, root = 0): Promise<void> {
    if (root < 0 || root >= this.worldSize) throw new RangeError(`broadcast: root ${root} is not a rank of this ${this.worldSize}-process run`);
    if (this.worldSize === 1) return;
    const what = `a broadcast from rank ${root} (${t.size} float32 values)`;
    if (this.rank === 0) {
      let data = this.read(t);
      if (root !== 0) data = asFloats(await this.readers[root]!.next(data.byteLength, what));
      await this.sendToPeers(data);
      if (root !== 0) t.backend.write(t, data);
    } else {
      if (t.dtype !== "f32") throw new TypeError(`communicator: expected a float32 tensor, got ${t.dtype}`);
      if (this.rank === root) await send(this.peers[0]!, asBytes(this.read(t)), this.readers[0]!.peer);
      const res = asFloats(await this.readers[0]!.next(t.size * 4, what));
      if (this.rank !== root) t.backend.write(t, res);
    }
  }

  async barrier(): Promise<void> {
    if (this.worldSize === 1) return;
    const token = new Float32Array(1);
    if (this.rank === 0) {
      await Promise.all(this.readers.slice(1).map((r) => r.next(4, "a barrier token")));
      await this.sendToPeers(token);
    } else {
      await send(this.peers[0]!, asBytes(token), this.readers[0]!.peer);
      await this.readers[0]!.next(4, "a barrier token");
    }
  }

  /** Rank 0: `data` to every other rank. */
  private async sendToPeers(data: Float32Array): Promise<void> {
    await Promise.all(this.peers.slice(1).map((p, i) => send(p, asBytes(data), this.readers[i + 1]!.peer)));
  }

  /** Closes every connection (rank 0 stopped listening at the end of the rendezvous). Peers see the close. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const p of this.peers) {
      if (!p) continue;
      p.end();
      // A peer that never answers the close must not keep this process alive.
      setTimeout(() => p.destroy(), 1000).unref();
    }
  }
}
