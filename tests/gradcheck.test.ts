/**
 * Every differentiable op's autograd against central finite differences in float64, scored with
 * the notebook's rel_error (as its eval_numerical_gradient checks do): below 1e-6.
 */
import { describe, expect, test } from "bun:test";
import ops from "../fixtures/ops/ops.json";
import { fromArray, noGrad } from "../core/index.ts";
import type { Tensor } from "../core/tensor.ts";
import { relError } from "../checks/runner.ts";
import { decode, fixtureTensor, NON_DIFFERENTIABLE, OPS, type FixtureTensor, type OpCase as Case } from "./op_table.ts";


/** A fixed pseudo-random upstream gradient, so every output element matters. */
function weights(n: number, seed: number): number[] {
  let s = seed >>> 0;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  });
}

function firstOut(o: Tensor | Tensor[]): Tensor {
  return Array.isArray(o) ? o[0]! : o;
}

const H = 1e-3;

/**
 * The notebook's rel_error over the elements whose gradient is not negligible, and for the
 * negligible ones (below 1e-4 of the largest) the absolute error measured against that 1e-4 floor:
 * a gradient of 1e-11 (erf far in its tail) cannot be resolved by finite differences in double.
 */
function gradError(a: number[], n: number[]): number {
  const scale = Math.max(...a.map(Math.abs), ...n.map(Math.abs));
  let worst = 0;
  for (let k = 0; k < a.length; k++) {
    const mag = Math.abs(a[k]!) + Math.abs(n[k]!);
    const e = mag >= 1e-4 * scale ? relError([a[k]!], [n[k]!]) : Math.abs(a[k]! - n[k]!) / Math.max(1e-4 * scale, 1e-8);
    if (!(e <= worst)) worst = e;
  }
  return worst;
}
/** Finite differences are meaningless at kinks, ties, overflow and non-finite values. */
const SKIP_NOTES = /edge values|ties|non-finite|division by zero|fully masked/;

describe("gradients match finite differences (float64)", () => {
  for (const c of (ops as { cases: Case[] }).cases) {
    if (NON_DIFFERENTIABLE.has(c.op) || SKIP_NOTES.test(c.note ?? "")) continue;
    const outs = c.outputs ?? [c.output!];
    if (outs.some((o) => decode(o.values).some((v) => !Number.isFinite(v)))) continue;
    const floatInputs = c.inputs.map((t, i) => (t.dtype.startsWith("float") ? i : -1)).filter((i) => i >= 0);
    if (floatInputs.length === 0) continue;
    test(`${c.id} (${c.op})`, () => {
      const values = c.inputs.map((t) => decode(t.values));
      const make = (vals: number[][], grad: boolean): Tensor[] =>
        c.inputs.map((t, i) => {
          if (!t.dtype.startsWith("float")) return fixtureTensor(t);
          const x = fromArray(vals[i]!, t.shape, "float64");
          return grad ? x.requiresGrad_() : x;
        });
      const inputs = make(values, true);
      const out = firstOut(OPS[c.op]!(inputs, c.args));
      const r = fromArray(weights(out.numel, 7), out.shape, "float64");
      out.mul(r).sum().backward();
      const loss = (vals: number[][]): number =>
        noGrad(() => {
          const o = firstOut(OPS[c.op]!(make(vals, false), c.args));
          return o.mul(r).sum().item();
        });
      for (const i of floatInputs) {
        const analytic = inputs[i]!.grad?.toArray() ?? new Array(values[i]!.length).fill(0);
        // Fourth-order central difference: truncation error O(h⁴), so h can stay large enough
        // that rounding noise in the loss does not swamp small gradients.
        const at = (k: number, d: number): number => {
          const v = values.map((row) => [...row]);
          v[i]![k] += d;
          return loss(v);
        };
        const numeric = values[i]!.map((x, k) => {
          // Step relative to |x| near zero, where 1/x-like ops (div, log) curve sharply.
          const h = H * Math.min(1, Math.max(Math.abs(x), 1e-3));
          return (8 * (at(k, h) - at(k, -h)) - (at(k, 2 * h) - at(k, -2 * h))) / (12 * h);
        });
        const err = gradError(analytic, numeric);
        if (!(err < 1e-6)) throw new Error(`${c.id} input ${i}: rel error ${err}\nanalytic ${analytic}\nnumeric  ${numeric}`);
        expect(err).toBeLessThan(1e-6);
      }
    });
  }
});
