import { evaluate } from "../step.js";
import { elapsed, type Session } from "./session.js";

/** Evaluates on the fixed eval batches (15% masking), across ranks; records and prints the result. */
export async function runEval(x: Session): Promise<void> {
  const { w, run } = x;
  if (x.data.evalBatches.length === 0) return;
  const r = await evaluate(x.t.model, x.data.evalBatches, w.comm, x.plan.M);
  run.lastEval = r;
  x.metrics?.write({ type: "eval", step: run.step, time: elapsed(run.timing), samples: run.samples, tokens: run.tokens, loss: r.loss, mlm_accuracy: r.accuracy, eval_tokens: r.tokens });
  w.say(`[eval] step ${run.step}: loss ${r.loss.toFixed(4)}, mlm_accuracy ${(100 * r.accuracy).toFixed(2)}% over ${r.tokens} masked tokens (15%)`);
}
