import { spawn, type ChildProcess } from "node:child_process";
import { randomInt } from "node:crypto";
import { constants } from "node:os";
import { freePort } from "./port.js";

export interface LaunchOptions {
  /** Processes to start on this host (one per GPU). */
  nprocs: number;
  /** The script and its arguments each child runs (without the launcher's own flags). */
  args: string[];
  /** Node flags for the children (default: this process's, so a source loader carries over). */
  execArgv?: string[];
  /** Ranks of this host start at nodeRank × nprocs; WORLD_SIZE = nnodes × nprocs. */
  nodeRank?: number;
  nnodes?: number;
  masterAddr?: string;
  masterPort?: number;
  env?: NodeJS.ProcessEnv;
}

/** The GPU a local rank gets: its entry of CUDA_VISIBLE_DEVICES (or its index when unset). */
function visibleFor(local: number, nprocs: number): string {
  const list = process.env.CUDA_VISIBLE_DEVICES?.split(",").filter(Boolean);
  if (list && list.length >= nprocs) return list[local]!;
  if (list && list.length > 0) return list[local % list.length]!;
  return String(local);
}

/**
 * Starts one process per device with torchrun's environment (RANK, LOCAL_RANK, WORLD_SIZE,
 * LOCAL_WORLD_SIZE, MASTER_ADDR, MASTER_PORT), forwards SIGINT/SIGTERM to all of them (each writes
 * its part of the checkpoint and stops), and stops the others when one fails. Resolves with the
 * first non-zero exit code, or 0.
 */
export async function launch(o: LaunchOptions): Promise<number> {
  const nnodes = o.nnodes ?? 1;
  const nodeRank = o.nodeRank ?? 0;
  const masterAddr = o.masterAddr ?? "127.0.0.1";
  const masterPort = o.masterPort ?? (await freePort(masterAddr === "127.0.0.1" ? masterAddr : "0.0.0.0"));
  const worldSize = nnodes * o.nprocs;
  // One id for every rank of this launch (multi-node launches set the same MOSAICBERT_JOB_ID on each node).
  const jobId = o.env?.MOSAICBERT_JOB_ID ?? process.env.MOSAICBERT_JOB_ID ?? (nnodes === 1 ? String(randomInt(2 ** 32 - 1)) : undefined);
  const children: ChildProcess[] = [];
  let firstFailure = 0;
  const forward = (sig: NodeJS.Signals) => {
    for (const c of children) if (c.exitCode === null) c.kill(sig);
  };
  const onInt = () => forward("SIGINT");
  const onTerm = () => forward("SIGTERM");
  process.on("SIGINT", onInt);
  process.on("SIGTERM", onTerm);
  try {
    const exits = Array.from({ length: o.nprocs }, (_, local) => {
      const rank = nodeRank * o.nprocs + local;
      const child = spawn(process.execPath, [...(o.execArgv ?? process.execArgv), ...o.args], {
        stdio: "inherit",
        env: {
          ...process.env,
          ...o.env,
          RANK: String(rank),
          LOCAL_RANK: String(local),
          WORLD_SIZE: String(worldSize),
          LOCAL_WORLD_SIZE: String(o.nprocs),
          MASTER_ADDR: masterAddr,
          MASTER_PORT: String(masterPort),
          // The ranks' rendezvous hello and acknowledgement carry it: a process of another job is not let in.
          MOSAICBERT_JOB_ID: jobId,
          // NVLink SHARP (multicast) off unless asked for: it is not available on every host.
          NCCL_NVLS_ENABLE: process.env.NCCL_NVLS_ENABLE ?? "0",
          // One GPU per process: the local rank-th of the visible devices becomes its device 0.
          CUDA_VISIBLE_DEVICES: visibleFor(local, o.nprocs),
        },
      });
      children.push(child);
      return new Promise<number>((resolve) => {
        child.on("exit", (code, signal) => {
          const c = code ?? (signal ? 128 + (constants.signals[signal] ?? 15) : 1);
          if (c !== 0 && firstFailure === 0) {
            firstFailure = c;
            // One rank failed: the others would wait for it forever in the next collective.
            for (const other of children) if (other !== child && other.exitCode === null) other.kill("SIGTERM");
          }
          resolve(c);
        });
      });
    });
    await Promise.all(exits);
    return firstFailure;
  } finally {
    process.off("SIGINT", onInt);
    process.off("SIGTERM", onTerm);
  }
}
