/** The geometry shared by conv2d, unfold and maxPool2d: PyTorch's int-or-pair arguments and checks. */
import type { Window2d } from "../backend.ts";
import { XtError } from "../errors.ts";
import { shapeStr, windowOutput } from "../shape.ts";
import type { Tensor } from "../tensor.ts";

/** An int, or a [rows, columns] pair, as PyTorch's _pair accepts. */
export type Size2 = number | readonly [number, number];

export function pair(op: string, name: string, v: Size2, min: number): [number, number] {
  if (typeof v !== "number" && !(Array.isArray(v) && v.length === 2)) throw new XtError(`${op}: ${name} must be an int or a pair of ints`);
  const p: [number, number] = typeof v === "number" ? [v, v] : [v[0], v[1]];
  for (const d of p) {
    if (!Number.isInteger(d) || d < min) throw new XtError(`${op}: ${name} must be ${min === 0 ? "non-negative" : "positive"} whole numbers, got ${JSON.stringify(v)}`);
  }
  return p;
}

/** Checks x is (N, C, H, W) and the window fits; returns the window and the output size. */
export function window2d(op: string, x: Tensor, kernel: Size2, stride: Size2, padding: Size2): { w: Window2d; out: [number, number] } {
  if (x.ndim !== 4) throw new XtError(`${op}: expected a 4-D input (N, C, H, W), got ${shapeStr(x.shape)}`);
  const [kh, kw] = pair(op, "kernel_size", kernel, 1);
  const [sh, sw] = pair(op, "stride", stride, 1);
  const [ph, pw] = pair(op, "padding", padding, 0);
  const H = x.shape[2]!;
  const W = x.shape[3]!;
  const w: Window2d = { kh, kw, sh, sw, ph, pw };
  const [Ho, Wo] = windowOutput(H, W, w);
  if (H + 2 * ph < kh || W + 2 * pw < kw || Ho < 1 || Wo < 1) {
    throw new XtError(`${op}: kernel ${kh}×${kw} is larger than the padded input ${H + 2 * ph}×${W + 2 * pw} (input ${shapeStr(x.shape)}, padding ${ph}×${pw})`);
  }
  return { w, out: [Ho, Wo] };
}
