import { type Backend, Rng, type Tensor } from "@mosaicbert/tensor";

/** Mixed precision: "bf16" keeps a bf16 copy of the weights for compute (activations bf16, grads f32). */
export type ComputeDtype = "f32" | "bf16";

/** How a parameter is initialised from scratch (transformers' BertPreTrainedModel._init_weights). */
export type InitKind = "normal" | "zeros" | "ones" | { embedding: { paddingIdx: number | null } };

export interface ParamSpec {
  /** The reference state-dict name, e.g. "bert.encoder.layer.0.attention.self.Wqkv.weight". */
  name: string;
  shape: number[];
  init: InitKind;
  /**
   * Parameters sharing a group are laid out back to back with no alignment gap, so a view can span
   * them (the BERT baseline's query/key/value weights form one fused [3H, H] matrix).
   */
  group?: string;
}

export interface Parameter {
  name: string;
  shape: readonly number[];
  /** float32 master weights: a view into `flat.params`. */
  param: Tensor;
  /** float32 gradient: a view into `flat.grads`. */
  grad: Tensor;
  /** bf16 compute copy: a view into `flat.lowp` (computeDtype "bf16" only). */
  lowp: Tensor | null;
  /** Element offset inside the flat buffers. */
  offset: number;
  size: number;
}

export interface FlatBuffers {
  /** Every float32 master weight in one tensor (each parameter a view). */
  params: Tensor;
  /** Every float32 gradient in one tensor, same layout. */
  grads: Tensor;
  /** bf16 copy of `params`, same layout, or null in f32 mode. */
  lowp: Tensor | null;
}

/** Start offsets are rounded up to this many elements (256 bytes of f32) for aligned GPU access. */
const ALIGN = 64;

/**
 * All parameters of a model in one flat float32 buffer, the gradients in another, and optionally a
 * bf16 compute copy: AdamW, the gradient norm and an all-reduce are each one call over one buffer.
 */
export class ParameterStore {
  readonly flat: FlatBuffers;
  private readonly byName = new Map<string, Parameter>();
  private readonly specs: ParamSpec[];

  constructor(readonly backend: Backend, specs: readonly ParamSpec[], readonly computeDtype: ComputeDtype = "f32") {
    this.specs = [...specs];
    let offset = 0;
    const offsets: number[] = [];
    for (let i = 0; i < specs.length; i++) {
      const s = specs[i]!;
      const prev = specs[i - 1];
      const sameGroup = s.group !== undefined && prev?.group === s.group;
      if (!sameGroup) offset = Math.ceil(offset / ALIGN) * ALIGN;
      offsets.push(offset);
      offset += s.shape.reduce((a, b) => a * b, 1);
    }
    const total = Math.ceil(offset / ALIGN) * ALIGN;
    const params = backend.zeros([total], "f32");
    const grads = backend.zeros([total], "f32");
    const lowp = computeDtype === "bf16" ? backend.zeros([total], "bf16") : null;
    this.flat = { params, grads, lowp };
    specs.forEach((s, i) => {
      if (this.byName.has(s.name)) throw new Error(`duplicate parameter name '${s.name}'`);
      const off = offsets[i]!;
      const size = s.shape.reduce((a, b) => a * b, 1);
      this.byName.set(s.name, {
        name: s.name,
        shape: s.shape,
        param: params.view(off, s.shape),
        grad: grads.view(off, s.shape),
        lowp: lowp ? lowp.view(off, s.shape) : null,
        offset: off,
        size,
      });
    });
  }

  /** Parameters in declaration order. */
  parameters(): Map<string, Parameter> {
    return new Map(this.byName);
  }

  get(name: string): Parameter {
    const p = this.byName.get(name);
    if (!p) throw new Error(`no parameter named '${name}'`);
    return p;
  }

  has(name: string): boolean {
    return this.byName.has(name);
  }

  /** The tensor the forward pass computes with: the bf16 copy in bf16 mode, else the master weights. */
  w(name: string): Tensor {
    const p = this.get(name);
    return p.lowp ?? p.param;
  }

  /** The float32 gradient accumulator. */
  g(name: string): Tensor {
    return this.get(name).grad;
  }

  /** A view over consecutive parameters of one group (e.g. query/key/value → fused [3H, H]). */
  span(names: readonly string[], shape: readonly number[], which: "w" | "g"): Tensor {
    const ps = names.map((n) => this.get(n));
    for (let i = 1; i < ps.length; i++) {
      if (ps[i]!.offset !== ps[i - 1]!.offset + ps[i - 1]!.size) throw new Error(`parameters ${names.join(", ")} are not contiguous`);
    }
    const base = which === "g" ? this.flat.grads : (this.flat.lowp ?? this.flat.params);
    return base.view(ps[0]!.offset, shape);
  }

  /** Number of parameter elements (alignment gaps excluded). */
  count(): number {
    let n = 0;
    for (const p of this.byName.values()) n += p.size;
    return n;
  }

  zeroGrad(): void {
    this.backend.fill(this.flat.grads, 0);
  }

  /** Refreshes the bf16 compute copy from the master weights (after loading or an optimizer step). */
  syncLowp(): void {
    if (this.flat.lowp) this.backend.copy(this.flat.params, this.flat.lowp);
  }

  /** Reference initialisation, drawn in declaration order from one seeded generator. */
  initialize(seed: number, std: number): void {
    const rng = new Rng(seed);
    const host = new Float32Array(this.flat.params.size);
    for (const s of this.specs) {
      const p = this.byName.get(s.name)!;
      if (s.init === "zeros") continue;
      if (s.init === "ones") {
        host.fill(1, p.offset, p.offset + p.size);
        continue;
      }
      const draws = rng.normalArray(p.size, std);
      if (typeof s.init === "object" && s.init.embedding.paddingIdx !== null) {
        const width = s.shape[1]!;
        draws.fill(0, s.init.embedding.paddingIdx * width, (s.init.embedding.paddingIdx + 1) * width);
      }
      host.set(draws, p.offset);
    }
    this.backend.write(this.flat.params, host);
    this.syncLowp();
  }

  dispose(): void {
    this.flat.params.dispose();
    this.flat.grads.dispose();
    this.flat.lowp?.dispose();
  }
}
