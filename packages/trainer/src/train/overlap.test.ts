import { readFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadModelFolder } from "@mosaicbert/hub";
import { readMetrics } from "../log/metrics.js";
import { freePort } from "../parallel/port.js";
import { SocketCommunicator } from "../parallel/socket.js";
import { cleanup, quiet, SMALL, tmp } from "../testing/pretrain-fixtures.js";
import { pretrain } from "./pretrain.js";

afterAll(cleanup);

type Row = Record<string, unknown>;
/** The rows of metrics.jsonl without their host timings (which differ from run to run). */
function rows(save: string): Row[] {
  const timing = new Set(["time", "step_ms", "data_wait_ms", "tokens_per_sec", "samples_per_sec", "mfu", "run_name", "recipe"]);
  return readMetrics(join(save, "metrics.jsonl")).map((r) => Object.fromEntries(Object.entries(r).filter(([k]) => !timing.has(k))));
}

/**
 * Launching step n+1 before reading step n (overlapSteps, the default) must train exactly what the
 * one-step-at-a-time loop trains: the same losses, learning rates, gradient norms, evaluations and
 * weights, and the same stop on a non-finite step.
 */
describe("pretrain with overlapped steps", () => {
  it("trains, evaluates and saves exactly what the one-step-at-a-time loop does", async () => {
    const run = async (overlapSteps: boolean) => {
      const save = tmp();
      const s = await pretrain({
        config: "tiny-cpu", overrides: [...SMALL, "optimizer.lr=1e-2", "eval_interval=4ba", "save_interval=6ba", "algorithms.gradient_clipping.clipping_type=norm", "algorithms.gradient_clipping.clipping_threshold=0.5"],
        maxDuration: "10ba", saveFolder: save, device: "cpu", handleSignals: false, stderr: quiet, overlapSteps,
      });
      return { s, save };
    };
    const a = await run(true);
    const b = await run(false);
    expect(a.s.status).toBe("completed");
    expect(a.s.steps).toBe(10);
    expect(a.s.losses).toEqual(b.s.losses);
    const ra = rows(a.save), rb = rows(b.save);
    expect(ra.filter((r) => r.type === "train").map((r) => r.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(ra.filter((r) => r.type === "eval").map((r) => r.step)).toEqual([4, 8, 10]);
    expect(ra.filter((r) => r.type !== "run")).toEqual(rb.filter((r) => r.type !== "run"));
    // Clipping was active (some norms above 0.5) and the learning rate followed the schedule.
    expect(ra.some((r) => r.type === "train" && (r.grad_norm as number) > 0.5)).toBe(true);
    expect(new Set(ra.filter((r) => r.type === "train").map((r) => r.lr)).size).toBeGreaterThan(5);
    // The final checkpoints hold the same weights, bit for bit.
    const wa = loadModelFolder(a.s.checkpoint!).tensors, wb = loadModelFolder(b.s.checkpoint!).tensors;
    expect([...wa.keys()]).toEqual([...wb.keys()]);
    for (const [name, e] of wa) expect(Buffer.compare(Buffer.from(e.data), Buffer.from(wb.get(name)!.data)), name).toBe(0);
    // And the same trainer state: counters, loader position, optimizer moments (not the wall-clock fields).
    const state = (r: { s: { checkpoint: string | null }; save: string }) => {
      const text = readFileSync(join(r.s.checkpoint!, "trainer_state.json"), "utf8").replaceAll(r.save, "<save folder>");
      const { savedAt: _a, runId: _b, elapsedSeconds: _c, ...rest } = JSON.parse(text) as Record<string, unknown>;
      return rest;
    };
    expect(state(a)).toEqual(state(b));
  });

  it("stops at the same non-finite step as the one-step-at-a-time loop, with the step after it dropped", async () => {
    const run = async (overlapSteps: boolean) => {
      const save = tmp();
      const s = await pretrain({
        // An absurd learning rate blows the weights up after the first real step; no save or eval boundaries.
        config: "tiny-cpu", overrides: [...SMALL, "optimizer.lr=1e30", "scheduler.t_warmup=0ba"],
        maxDuration: "10ba", saveFolder: save, device: "cpu", handleSignals: false, stderr: quiet, overlapSteps,
      });
      return { s, save };
    };
    const a = await run(true);
    const b = await run(false);
    expect(a.s.status).toBe("nan");
    expect(a.s.steps).toBeLessThan(9);
    expect({ ...a.s, elapsedSeconds: 0, saveFolder: "", checkpoint: null }).toEqual({ ...b.s, elapsedSeconds: 0, saveFolder: "", checkpoint: null });
    const ra = rows(a.save);
    const nan = ra.find((r) => r.type === "run" && r.event === "nan")!;
    expect(nan.step).toBe(a.s.steps);
    // The recorded steps end at the last good one: the launched step after the non-finite one is not in the log.
    expect(Math.max(...ra.filter((r) => r.type === "train").map((r) => r.step as number))).toBe(a.s.steps);
    expect(ra.filter((r) => r.type !== "run")).toEqual(rows(b.save).filter((r) => r.type !== "run"));
  });

  it("a time-boxed 2-process run stops both ranks at the same step even when their clocks and overlap settings disagree", async () => {
    const port = await freePort();
    const comms = await Promise.all([0, 1].map((rank) => SocketCommunicator.connect({ rank, worldSize: 2, masterPort: port, timeoutMs: 20_000 })));
    // Simulated clocks: rank 1's runs 1.7× as fast, so on its own it would stop after far fewer steps.
    const clocks = [10, 17].map((tick) => {
      let now = 0;
      return () => (now += tick);
    });
    const save = tmp();
    const runs = await Promise.all(
      comms.map((comm, r) =>
        pretrain({
          config: "tiny-cpu", overrides: [...SMALL, "global_train_batch_size=4", "device_train_microbatch_size=2"],
          maxDuration: "1s", saveFolder: r === 0 ? save : undefined, device: "cpu", handleSignals: false, stderr: quiet, clock: clocks[r], comm,
          // The ranks ask for different loops: they agree on the one-step-at-a-time one rather than mismatch.
          overlapSteps: r === 0,
        }),
      ),
    );
    await Promise.all(comms.map((c) => c.close()));
    expect(runs.map((s) => s.status)).toEqual(["completed", "completed"]);
    expect(runs[0]!.steps).toBe(runs[1]!.steps);
    expect(runs[0]!.steps).toBeGreaterThan(2);
    expect(runs[0]!.losses).toEqual(runs[1]!.losses);
  });
});
