/** Shape arithmetic shared by the tensor ops: sizes, strides, broadcasting, dim normalisation. */
import type { Window2d } from "./backend.ts";
import { XtError } from "./errors.ts";

export type Shape = readonly number[];

export function numel(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function contiguousStrides(shape: Shape): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i]!;
  }
  return strides;
}

/** Output rows and columns of a 2-D window op over an H×W image (floor mode). */
export function windowOutput(height: number, width: number, w: Window2d): [number, number] {
  return [Math.floor((height + 2 * w.ph - w.kh) / w.sh) + 1, Math.floor((width + 2 * w.pw - w.kw) / w.sw) + 1];
}

export function isContiguous(shape: Shape, strides: readonly number[]): boolean {
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    if (shape[i] !== 1 && strides[i] !== s) return false;
    s *= shape[i]!;
  }
  return true;
}

export function shapeStr(shape: Shape): string {
  return `[${shape.join(", ")}]`;
}

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** NumPy/PyTorch broadcasting; throws naming the op and both shapes when they do not broadcast. */
export function broadcastShapes(op: string, a: Shape, b: Shape): number[] {
  const n = Math.max(a.length, b.length);
  const out = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const da = a[a.length - n + i] ?? 1;
    const db = b[b.length - n + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      throw new XtError(
        `${op}: shapes ${shapeStr(a)} and ${shapeStr(b)} cannot be broadcast together ` +
          `(size ${da} vs ${db} at dim ${i})`,
      );
    }
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/** Map a possibly negative dim into [0, rank) (rank + 1 for insertion points). */
export function normDim(op: string, dim: number, rank: number, shape?: Shape): number {
  const d = dim < 0 ? dim + rank : dim;
  if (!Number.isInteger(dim) || d < 0 || d >= Math.max(rank, 1)) {
    const what = shape ? `shape ${shapeStr(shape)}` : `rank ${rank}`;
    throw new XtError(`${op}: dim ${dim} is out of range for a tensor of ${what} (expected -${rank}..${rank - 1})`);
  }
  return d;
}
