import type { Backend } from "@mosaicbert/tensor";
import { SingleProcessCommunicator, type Communicator } from "../parallel/communicator.js";
import { SocketCommunicator } from "../parallel/socket.js";

export interface WorldEnv {
  rank: number;
  worldSize: number;
  localRank: number;
  masterAddr: string;
  masterPort: number;
}

function intEnv(name: string, fallback: number): number {
  const v = process.env[name];
  if (v === undefined || v === "") return fallback;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`environment: ${name} must be a non-negative integer, got ${JSON.stringify(v)}`);
  return n;
}

/** RANK, WORLD_SIZE, LOCAL_RANK, MASTER_ADDR, MASTER_PORT (torchrun's names); a 1-process world without them. */
export function worldFromEnv(): WorldEnv {
  const worldSize = intEnv("WORLD_SIZE", 1);
  const rank = intEnv("RANK", 0);
  if (worldSize < 1) throw new Error("environment: WORLD_SIZE must be ≥ 1");
  if (rank >= worldSize) throw new Error(`environment: RANK ${rank} must be below WORLD_SIZE ${worldSize}`);
  return {
    rank,
    worldSize,
    localRank: intEnv("LOCAL_RANK", rank),
    masterAddr: process.env.MASTER_ADDR || "127.0.0.1",
    masterPort: intEnv("MASTER_PORT", 29500),
  };
}

/**
 * The communicator of this process: single-process for a world of 1; otherwise the backend's own
 * collectives (NCCL on CUDA) over a TCP channel through rank 0, which is also what they are
 * without a backend that has its own (the CPU: host tensors over TCP).
 */
export async function connectWorld(w: WorldEnv, backend: Backend | null = null): Promise<Communicator> {
  if (w.worldSize === 1) return new SingleProcessCommunicator();
  const bootstrap = await SocketCommunicator.connect({ rank: w.rank, worldSize: w.worldSize, masterAddr: w.masterAddr, masterPort: w.masterPort });
  if (!backend?.connectCollectives) return bootstrap;
  return backend.connectCollectives({ rank: w.rank, worldSize: w.worldSize, bootstrap });
}
