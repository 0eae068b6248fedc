import type { AdamWParam, Backend, Tensor } from "@mosaicbert/tensor";

/** Hyper-parameters of Composer's DecoupledAdamW (the MosaicBERT recipe's values are the defaults). */
export interface DecoupledAdamWOptions {
  /** Peak learning rate (the schedule multiplies it). Default 5e-4. */
  lr?: number;
  /** Default [0.9, 0.98]. */
  betas?: readonly [number, number];
  /** Default 1e-6. */
  eps?: number;
  /** Decoupled weight decay, scaled by lr_t / lr_peak. Default 1e-5. */
  weightDecay?: number;
}

/** One optimised tensor: float32 master weights and their float32 gradient (typically a model's flat buffers). */
export interface OptimParam {
  param: Tensor;
  grad: Tensor;
  /** Optional bf16 copy the backend refreshes after each step (mixed precision). */
  lowp?: Tensor | null;
}

/** Host copy of the optimizer state, for checkpoints. */
export interface AdamWState {
  /** Optimizer steps taken (the bias-correction count). */
  step: number;
  /** First and second moments, one pair per parameter tensor, in construction order. */
  m: Float32Array[];
  v: Float32Array[];
}

export interface StepOptions {
  /** Multiplies every gradient before use (e.g. 1/worldSize when gradients were summed). */
  gradScale?: number;
  /** A float32 [1] device-side multiplier (the clipping coefficient). */
  gradScaleTensor?: Tensor | null;
}

/**
 * Composer's DecoupledAdamW over flat parameter buffers:
 *
 *   p ← p·(1 − (lr_t / lr_peak)·wd)              (decay scaled by the schedule only, not by lr)
 *   m ← β1·m + (1 − β1)·g,  v ← β2·v + (1 − β2)·g²
 *   p ← p − lr_t · (m / (1 − β1ᵗ)) / (√(v / (1 − β2ᵗ)) + eps)
 *
 * applied to every parameter (no exclusions: biases, LayerNorms and embeddings are decayed too).
 * The arithmetic is the backend's fused `adamw` op; this class owns the moments and the step count.
 */
export class DecoupledAdamW {
  readonly lr: number;
  readonly betas: readonly [number, number];
  readonly eps: number;
  readonly weightDecay: number;
  private readonly params: OptimParam[];
  private readonly moments: Array<{ m: Tensor; v: Tensor }>;
  private _step = 0;

  constructor(
    readonly backend: Backend,
    params: readonly OptimParam[],
    opts: DecoupledAdamWOptions = {},
  ) {
    this.lr = opts.lr ?? 5e-4;
    this.betas = opts.betas ?? [0.9, 0.98];
    this.eps = opts.eps ?? 1e-6;
    this.weightDecay = opts.weightDecay ?? 1e-5;
    check("lr", this.lr, this.lr >= 0, "a number ≥ 0");
    check("betas[0]", this.betas[0], this.betas[0] >= 0 && this.betas[0] < 1, "a number in [0, 1)");
    check("betas[1]", this.betas[1], this.betas[1] >= 0 && this.betas[1] < 1, "a number in [0, 1)");
    check("eps", this.eps, this.eps >= 0, "a number ≥ 0");
    check("weightDecay", this.weightDecay, this.weightDecay >= 0, "a number ≥ 0");
    if (params.length === 0) throw new TypeError("DecoupledAdamW: expected at least one parameter tensor");
    this.params = params.map((p, i) => {
      if (p.param.dtype !== "f32" || p.grad.dtype !== "f32") {
        throw new TypeError(`DecoupledAdamW: params[${i}] must be float32 param and grad, got ${p.param.dtype}/${p.grad.dtype}`);
      }
      if (p.param.size !== p.grad.size) {
        throw new TypeError(`DecoupledAdamW: params[${i}] has ${p.param.size} values but its grad ${p.grad.size}`);
      }
      return { ...p };
    });
    this.moments = this.params.map((p) => ({
      m: backend.zeros(p.param.shape, "f32"),
      v: backend.zeros(p.param.shape, "f32"),
    }));
  }

  /** Optimizer steps taken so far. */
  get stepCount(): number {
    return this._step;
  }

  /**
   * One step at learning rate `lrT` (= lr_peak · schedule multiplier). Gradients are read as they
   * are (already accumulated over microbatches and averaged across ranks), times the optional scales.
   */
  step(lrT: number, opts: StepOptions = {}): void {
    check("lrT", lrT, lrT >= 0, "a number ≥ 0");
    this._step += 1;
    // Composer: decay_factor = lr_t / initial_lr (1 when the peak is 0).
    const decayFactor = this.lr > 0 ? lrT / this.lr : 1;
    const list: AdamWParam[] = this.params.map((p, i) => ({
      param: p.param,
      grad: p.grad,
      m: this.moments[i]!.m,
      v: this.moments[i]!.v,
      lowp: p.lowp ?? null,
    }));
    this.backend.adamw(list, {
      lr: lrT,
      beta1: this.betas[0],
      beta2: this.betas[1],
      eps: this.eps,
      decay: decayFactor * this.weightDecay,
      step: this._step,
      gradScale: opts.gradScale ?? 1,
      gradScaleTensor: opts.gradScaleTensor ?? null,
    });
  }

  /** Copies the state to the host. */
  state(): AdamWState {
    return {
      step: this._step,
      m: this.moments.map((x) => Float32Array.from(this.backend.read(x.m) as Float32Array)),
      v: this.moments.map((x) => Float32Array.from(this.backend.read(x.v) as Float32Array)),
    };
  }

  /** Restores a state saved by `state()` (same parameter layout). */
  loadState(s: AdamWState): void {
    if (!Number.isInteger(s.step) || s.step < 0) throw new TypeError(`DecoupledAdamW.loadState: step must be an integer ≥ 0, got ${s.step}`);
    if (s.m.length !== this.moments.length || s.v.length !== this.moments.length) {
      throw new TypeError(`DecoupledAdamW.loadState: expected ${this.moments.length} moment pairs, got ${s.m.length}/${s.v.length}`);
    }
    this.moments.forEach((x, i) => {
      if (s.m[i]!.length !== x.m.size || s.v[i]!.length !== x.v.size) {
        throw new TypeError(`DecoupledAdamW.loadState: moments[${i}] expected ${x.m.size} values, got ${s.m[i]!.length}/${s.v[i]!.length}`);
      }
      this.backend.write(x.m, s.m[i]!);
      this.backend.write(x.v, s.v[i]!);
    });
    this._step = s.step;
  }

  dispose(): void {
    for (const x of this.moments) {
      x.m.dispose();
      x.v.dispose();
    }
  }
}

function check(name: string, v: number, ok: boolean, expected: string): void {
  if (!Number.isFinite(v) || !ok) throw new RangeError(`DecoupledAdamW: ${name} must be ${expected}, got ${v}`);
}
