/** Throughput over the last `size` steps: tokens/s, samples/s and model FLOP/s from the window's ends. */
export class SpeedWindow {
  private readonly points: Array<{ t: number; tokens: number; samples: number; flops: number }> = [];

  constructor(private readonly size: number) {}

  /** Adds a step (`t`: run seconds; totals after it; the step's FLOPs) and returns the rates over the window. */
  add(t: number, tokens: number, samples: number, flops: number): { tokensPerSec: number; samplesPerSec: number; flopsPerSec: number; span: number; steps: number } {
    const w = this.points;
    w.push({ t, tokens, samples, flops });
    if (w.length > this.size + 1) w.shift();
    const first = w[0]!;
    const span = t - (w.length > 1 ? first.t : t - 1e-9);
    if (w.length <= 1) return { tokensPerSec: 0, samplesPerSec: 0, flopsPerSec: 0, span, steps: 0 };
    return {
      tokensPerSec: (tokens - first.tokens) / span,
      samplesPerSec: (samples - first.samples) / span,
      flopsPerSec: w.slice(1).reduce((a, p) => a + p.flops, 0) / span,
      span,
      steps: w.length - 1,
    };
  }
}
