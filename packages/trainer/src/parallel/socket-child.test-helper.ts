// Child-process scenarios for socket-rendezvous.test.ts: each must let Node exit on its own once it fails.
import { createServer } from "node:net";
import { SocketCommunicator } from "./socket.js";

const [scenario, portArg] = process.argv.slice(2);
const port = Number(portArg);
const report = (who: string) => (e: Error) => console.log(`${who}: ${e.message}`);

if (scenario === "missing-rank") {
  // WORLD_SIZE 3, rank 2 never comes.
  const r0 = SocketCommunicator.connect({ rank: 0, worldSize: 3, masterPort: port, timeoutMs: 300 });
  r0.catch(report("rank0"));
  const c1 = await SocketCommunicator.connect({ rank: 1, worldSize: 3, masterPort: port, timeoutMs: 2000 });
  const { cpu } = await import("@mosaicbert/tensor");
  await c1.allReduce(cpu.fromArray([1], [1], "f32")).catch(report("rank1"));
} else if (scenario === "port-in-use") {
  const other = createServer();
  await new Promise<void>((r) => other.listen(port, "127.0.0.1", r));
  await SocketCommunicator.connect({ rank: 0, worldSize: 2, masterPort: port, timeoutMs: 60_000 }).catch(report("rank0"));
  other.close();
}
