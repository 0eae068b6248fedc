import { spawn } from "node:child_process";
import { connect, createServer, type Server, type Socket } from "node:net";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { cpu } from "@mosaicbert/tensor";
import { SocketCommunicator } from "./socket.js";
import { freePort } from "./port.js";

const here = fileURLToPath(new URL(".", import.meta.url));
const JOB = 7;

/** A raw TCP client: connects, runs `act`, resolves when the connection is closed by either side. */
function raw(port: number, act: (s: Socket) => void): Promise<void> {
  return new Promise((resolve) => {
    const s = connect({ host: "127.0.0.1", port }, () => act(s));
    s.on("error", () => {});
    s.on("close", () => resolve());
  });
}
const frame = (words: number[]) => {
  const b = Buffer.alloc(4 + 4 * words.length);
  b.writeUInt32LE(4 * words.length, 0);
  words.forEach((w, i) => b.writeUInt32LE(w, 4 + 4 * i));
  return b;
};
const HELLO = 0x4d424831;
const listening = (port: number) =>
  new Promise<void>((resolve) => {
    const poll = () => {
      const s = connect({ host: "127.0.0.1", port }, () => (s.destroy(), resolve()));
      s.on("error", () => setTimeout(poll, 20));
    };
    poll();
  });
const refused = (port: number) =>
  new Promise<string>((resolve) => {
    const s = connect({ host: "127.0.0.1", port }, () => (s.destroy(), resolve("connected")));
    s.on("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
  });

/** Runs socket-child.ts <scenario> <port> in a fresh Node and resolves with its exit code and output (killed after 10 s). */
function child(scenario: string, port: number): Promise<{ code: number | null; out: string; ms: number }> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const p = spawn(process.execPath, ["--import", join(here, "../from-source/register-ts.mjs"), join(here, "socket-child.test-helper.ts"), scenario, String(port)], { stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    p.stdout.on("data", (d) => (out += d));
    p.stderr.on("data", (d) => (out += d));
    const kill = setTimeout(() => p.kill("SIGKILL"), 10_000);
    p.on("exit", (code) => {
      clearTimeout(kill);
      resolve({ code, out, ms: Date.now() - t0 });
    });
  });
}

describe("SocketCommunicator rendezvous", () => {
  it("drops strangers (closed early, garbage, an oversize length, a wrong hello) and still completes; then stops listening", async () => {
    const port = await freePort();
    const c0 = SocketCommunicator.connect({ rank: 0, worldSize: 2, masterPort: port, timeoutMs: 5000, jobId: JOB });
    await listening(port);
    await raw(port, (s) => s.end()); // a TCP probe
    await raw(port, (s) => s.write("GET / HTTP/1.0\r\n\r\n")); // garbage: a length far above the hello's 16 bytes
    await raw(port, (s) => s.write(frame([HELLO, 1, 2, JOB + 1]))); // another job's rank 1
    await raw(port, (s) => s.write(frame([HELLO, 5, 2, JOB]))); // a rank that does not exist
    await raw(port, (s) => {
      const h = Buffer.alloc(4);
      h.writeUInt32LE(0xfffffff0, 0);
      s.write(h);
      s.write(Buffer.alloc(1 << 20));
    });
    const c1 = await SocketCommunicator.connect({ rank: 1, worldSize: 2, masterPort: port, timeoutMs: 5000, jobId: JOB });
    const comms = [await c0, c1];
    const ts = comms.map((c) => cpu.fromArray([c.rank + 1], [1], "f32"));
    await Promise.all(comms.map((c, i) => c.allReduce(ts[i]!)));
    for (const t of ts) expect(t.item()).toBe(3);
    // The rendezvous is over: the OS refuses new connections.
    expect(await refused(port)).toBe("ECONNREFUSED");
    await Promise.all(comms.map((c) => c.close()));
  });

  it("a missing rank: rank 0 fails after its timeout and closes the server and the accepted sockets (the process exits)", async () => {
    const r = await child("missing-rank", await freePort());
    expect(r.out).toMatch(/rank0: communicator: only 2 of 3 ranks joined 127\.0\.0\.1:\d+ within 300 ms/);
    expect(r.out).toMatch(/rank1: communicator: (rank 0 at 127\.0\.0\.1:\d+ closed the connection|cannot send to rank 0 at 127\.0\.0\.1:\d+)/);
    expect(r.code).toBe(0);
    expect(r.ms).toBeLessThan(8000);
  });

  it("rank 0 fails at once when MASTER_PORT is taken; a non-zero rank fails within its timeout without a valid acknowledgement", async () => {
    const port = await freePort();
    const other: Server = createServer((s) => {
      s.on("error", () => {});
      s.on("data", () => s.write("HTTP/1.0 400 Bad Request\r\n\r\n"));
    });
    await new Promise<void>((r) => other.listen(port, "127.0.0.1", r));
    try {
      const t0 = Date.now();
      await expect(SocketCommunicator.connect({ rank: 0, worldSize: 2, masterPort: port, timeoutMs: 20_000 })).rejects.toThrow(/rank 0 cannot listen on 127\.0\.0\.1:\d+: .*EADDRINUSE/);
      expect(Date.now() - t0).toBeLessThan(1000);
      const t1 = Date.now();
      await expect(SocketCommunicator.connect({ rank: 1, worldSize: 2, masterPort: port, timeoutMs: 400 })).rejects.toThrow(/rank 1 got no valid acknowledgement from rank 0 at 127\.0\.0\.1:\d+ within 400 ms \(expected a 16-byte ack/);
      expect(Date.now() - t1).toBeLessThan(2000);
    } finally {
      other.close();
    }
    // A silent server: no answer at all.
    const port2 = await freePort();
    const silent = createServer((s) => s.on("error", () => {}));
    await new Promise<void>((r) => silent.listen(port2, "127.0.0.1", r));
    try {
      await expect(SocketCommunicator.connect({ rank: 1, worldSize: 2, masterPort: port2, timeoutMs: 300 })).rejects.toThrow(/no valid acknowledgement/);
    } finally {
      silent.close();
    }
    // And the process can exit after rank 0's EADDRINUSE (its timer is cleared).
    const r = await child("port-in-use", await freePort());
    expect(r.out).toMatch(/EADDRINUSE/);
    expect(r.code).toBe(0);
    expect(r.ms).toBeLessThan(5000);
  });
});

describe("SocketCommunicator frames", () => {
  it("a joined peer's frame of the wrong size fails the collective naming the rank, without buffering it", async () => {
    const port = await freePort();
    const c0 = SocketCommunicator.connect({ rank: 0, worldSize: 2, masterPort: port, timeoutMs: 5000, jobId: JOB });
    await listening(port);
    const peer = connect({ host: "127.0.0.1", port });
    peer.on("error", () => {});
    await new Promise((r) => peer.once("connect", r));
    peer.write(frame([HELLO, 1, 2, JOB]));
    const comm = await c0;
    const h = Buffer.alloc(4);
    h.writeUInt32LE(0xfffffff0, 0);
    peer.write(h);
    peer.write(Buffer.alloc(1 << 20));
    const t = cpu.fromArray([1, 2, 3], [3], "f32");
    await expect(comm.allReduce(t)).rejects.toThrow(/rank 1 \(127\.0\.0\.1:\d+\) sent a frame of 4294967280 bytes where an allReduce part \(3 float32 values\) \(12 bytes\) was expected/);
    await comm.close();
    peer.destroy();
  });

  it("a collective times out when a peer never sends (collectiveTimeoutMs)", async () => {
    const port = await freePort();
    const comms = await Promise.all([0, 1].map((rank) => SocketCommunicator.connect({ rank, worldSize: 2, masterPort: port, timeoutMs: 5000, collectiveTimeoutMs: 200 })));
    await expect(comms[0]!.barrier()).rejects.toThrow(/waited 200 ms for a barrier token from rank 1 \(127\.0\.0\.1:\d+\)/);
    await Promise.all(comms.map((c) => c.close()));
  });
});
