import { type DType, itemsize } from "./dtype.js";
import { OpError, fmtShape } from "./errors.js";
import type { Backend, HostArray } from "./backend.js";

let nextId = 1;

/**
 * A contiguous, row-major tensor whose storage belongs to a backend.
 *
 * Lifetimes are explicit: `dispose()` gives the storage back to the backend (GPU memory is never
 * left to the JavaScript garbage collector). A view (`reshape`, `view`) shares its owner's storage
 * and never frees it; disposing a view is a no-op, using any tensor after its owner was disposed
 * throws.
 */
export class Tensor {
  readonly id = nextId++;
  readonly size: number;
  private _disposed = false;

  constructor(
    readonly backend: Backend,
    readonly shape: readonly number[],
    readonly dtype: DType,
    /** Backend-owned storage (CPU: a typed array; CUDA: a device allocation handle). */
    readonly storage: unknown,
    /** Offset in elements into the storage (non-zero for views). */
    readonly offset = 0,
    /** The tensor that owns the storage, when this one is a view. */
    readonly owner: Tensor | null = null,
  ) {
    for (const d of shape) {
      if (!Number.isInteger(d) || d < 0) throw new OpError("Tensor", "shape", `expected non-negative integers, got ${fmtShape(shape)}`);
    }
    this.size = shape.reduce((a, b) => a * b, 1);
  }

  get ndim(): number {
    return this.shape.length;
  }

  get nbytes(): number {
    return this.size * itemsize(this.dtype);
  }

  get disposed(): boolean {
    return this._disposed || (this.owner !== null && this.owner.disposed);
  }

  /** Throws if this tensor (or its owner) was disposed. */
  assertLive(op: string, arg: string): void {
    if (this.disposed) throw new OpError(op, arg, `tensor #${this.id} ${fmtShape(this.shape)} was disposed`);
  }

  /** A view with another shape of the same number of elements; -1 infers one dimension. */
  reshape(shape: readonly number[]): Tensor {
    const known = shape.filter((d) => d !== -1).reduce((a, b) => a * b, 1);
    const inferred = shape.map((d) => (d === -1 ? (known === 0 ? 0 : this.size / known) : d));
    const n = inferred.reduce((a, b) => a * b, 1);
    if (n !== this.size || inferred.some((d) => !Number.isInteger(d))) {
      throw new OpError("reshape", "shape", `cannot view ${fmtShape(this.shape)} (${this.size} elements) as ${fmtShape(shape)}`);
    }
    return new Tensor(this.backend, inferred, this.dtype, this.storage, this.offset, this.owner ?? this);
  }

  /** A view of `shape` starting `elementOffset` elements into this tensor. */
  view(elementOffset: number, shape: readonly number[]): Tensor {
    const n = shape.reduce((a, b) => a * b, 1);
    if (!Number.isInteger(elementOffset) || elementOffset < 0 || elementOffset + n > this.size) {
      throw new OpError("view", "range", `offset ${elementOffset} + ${n} elements exceeds tensor of ${this.size} elements ${fmtShape(this.shape)}`);
    }
    return new Tensor(this.backend, shape, this.dtype, this.storage, this.offset + elementOffset, this.owner ?? this);
  }

  /** Rows [start, end) of the first dimension, as a view. */
  rows(start: number, end: number): Tensor {
    const rowSize = this.shape.slice(1).reduce((a, b) => a * b, 1);
    const n = this.shape[0] ?? 0;
    // Integers only: a fractional bound times rowSize can still be a whole element offset (a misplaced view).
    if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end > n || start > end) {
      throw new OpError("rows", "range", `expected integers 0 ≤ start ≤ end ≤ ${n}, got rows [${start}, ${end}) of shape ${fmtShape(this.shape)}`);
    }
    return this.view(start * rowSize, [end - start, ...this.shape.slice(1)]);
  }

  /** Copies the values to the host: floats decoded to Float32Array, i32 to Int32Array, i64 to BigInt64Array, u8/bool to Uint8Array. */
  toArray(): HostArray {
    this.assertLive("toArray", "tensor");
    return this.backend.read(this);
  }

  /** Shorthand for a single-element float tensor. */
  item(): number {
    const a = this.toArray();
    if (a.length !== 1) throw new OpError("item", "tensor", `expected 1 element, got shape ${fmtShape(this.shape)}`);
    return Number(a[0]);
  }

  dispose(): void {
    if (this.owner !== null || this._disposed) return;
    this._disposed = true;
    this.backend.free(this);
  }

  toString(): string {
    return `Tensor#${this.id}(${this.dtype}, ${fmtShape(this.shape)}, ${this.backend.name})`;
  }
}
