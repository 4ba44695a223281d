/**
 * The functional pieces of the small-data study against PyTorch 1.13 (fixtures/cnn/functional.json,
 * written by fixtures/gen/gen_cnn.py): max pooling on inputs full of ties (the output, PyTorch's
 * argmax indices and where the gradient goes: the first maximum in the window's row-major order),
 * and cross-entropy with label smoothing (loss and gradient for every reduction). The modules
 * (Conv2d, MaxPool2d, SmallCNN, the hybrid ViT) are in tests/layers.test.ts.
 */
import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import * as xt from "../core/index.ts";
import { XtError } from "../core/errors.ts";
import type { Tensor } from "../core/tensor.ts";
import { fixtureTensor, type FixtureTensor } from "./op_table.ts";

interface PoolTie { kernel: number; stride: number; x: FixtureTensor; g: FixtureTensor; output: FixtureTensor; indices: FixtureTensor; grad: FixtureTensor }
interface Smoothing { reduction: "mean" | "sum" | "none"; labelSmoothing: number; logits: FixtureTensor; target: FixtureTensor; g: FixtureTensor; loss: FixtureTensor; grad: FixtureTensor }
const F = JSON.parse(readFileSync(join(import.meta.dir, "../fixtures/cnn/functional.json"), "utf8")) as { maxPoolTies: PoolTie[]; labelSmoothing: Smoothing[] };

function expectClose(got: Tensor, want: FixtureTensor, what: string, tol = 1e-5): void {
  expect(got.shape, `${what} shape`).toEqual(want.shape);
  const g = got.toArray();
  want.values.forEach((w, i) => {
    const d = Math.abs(g[i]! - Math.fround(w as number));
    if (!(d <= tol)) throw new Error(`${what}[${i}]: got ${g[i]}, PyTorch ${w}`);
  });
}

describe("max_pool2d with ties matches PyTorch (output, indices, gradient)", () => {
  for (const c of F.maxPoolTies) {
    test(`${c.x.shape.join("×")}, kernel ${c.kernel}, stride ${c.stride}`, () => {
      const x = fixtureTensor(c.x).requiresGrad_();
      const y = xt.maxPool2d(x, c.kernel, c.stride);
      expect(y.toArray()).toEqual(fixtureTensor(c.output).toArray());
      const r = x.backend.maxPool2d(x, { kh: c.kernel, kw: c.kernel, sh: c.stride, sw: c.stride, ph: 0, pw: 0 });
      expect(Array.from(x.backend.toHost(r.indices))).toEqual(c.indices.values as number[]);
      y.backward(fixtureTensor(c.g));
      expectClose(x.grad!, c.grad, "grad x", 0);
    });
  }
});

describe("cross_entropy(label_smoothing=ε) matches PyTorch: loss and gradient", () => {
  for (const c of F.labelSmoothing) {
    test(`ε ${c.labelSmoothing}, ${c.reduction}, logits ${c.logits.shape.join("×")}`, () => {
      const logits = fixtureTensor(c.logits).requiresGrad_();
      const loss = xt.crossEntropy(logits, fixtureTensor(c.target), c.reduction, c.labelSmoothing);
      expectClose(loss, c.loss, "loss");
      loss.backward(fixtureTensor(c.g));
      expectClose(logits.grad!, c.grad, "grad logits");
    });
  }
  test("ε = 0 is the plain cross-entropy, bit for bit", () => {
    xt.manualSeed(3);
    const logits = xt.randn([5, 7]);
    const t = xt.randint(0, 7, [5]);
    expect(xt.crossEntropy(logits, t, "mean", 0).item()).toBe(xt.crossEntropy(logits, t).item());
  });
  test("ε outside [0, 1] is an error naming label_smoothing", () => {
    expect(() => xt.crossEntropy(xt.zeros([2, 3]), xt.zeros([2], { dtype: "int32" }), "mean", 1.5)).toThrow(/label_smoothing/);
  });
});

describe("conv2d and max_pool2d gradients match finite differences (float64)", () => {
  /** A fixed pseudo-random array, so that every output element weighs in the checked sum. */
  const values = (n: number, seed: number): number[] => {
    let s = seed >>> 0;
    return Array.from({ length: n }, () => {
      s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
      return s / 2 ** 32 - 0.5;
    });
  };
  const check = (shapes: number[][], f: (ts: Tensor[]) => Tensor): void => {
    const base = shapes.map((sh, i) => values(sh.reduce((a, b) => a * b, 1), 11 + i).map((v) => 2 * v));
    const make = (vals: number[][]) => vals.map((v, i) => xt.fromArray(v, shapes[i]!, "float64"));
    const inputs = make(base).map((t) => t.requiresGrad_());
    const out = f(inputs);
    const w = xt.fromArray(values(out.numel, 5), out.shape, "float64");
    out.mul(w).sum().backward();
    const score = (vals: number[][]): number => xt.noGrad(() => f(make(vals)).mul(w).sum().item());
    const h = 1e-6;
    base.forEach((v, i) => {
      const g = inputs[i]!.grad!.toArray();
      for (let k = 0; k < v.length; k++) {
        const plus = base.map((b) => [...b]);
        const minus = base.map((b) => [...b]);
        plus[i]![k]! += h;
        minus[i]![k]! -= h;
        const num = (score(plus) - score(minus)) / (2 * h);
        expect(Math.abs(num - g[k]!), `input ${i}[${k}]`).toBeLessThan(1e-7 * Math.max(1, Math.abs(num)));
      }
    });
  };
  test("conv2d: stride 2, padding 1, 3×2 kernel, input, weight and bias", () => {
    check([[2, 3, 6, 5], [4, 3, 3, 2], [4]], ([x, wt, b]) => xt.conv2d(x!, wt!, b!, [2, 1], [1, 0]));
  });
  test("max_pool2d: overlapping windows (kernel 3, stride 2)", () => {
    check([[2, 2, 7, 6]], ([x]) => xt.maxPool2d(x!, 3, 2));
  });
});

describe("conv2d / max_pool2d reject shapes that do not fit, naming them", () => {
  const cases: [string, () => unknown, RegExp][] = [
    ["3-D input", () => xt.conv2d(xt.zeros([1, 3, 4]), xt.zeros([2, 1, 3, 3])), /conv2d: .*\[1, 3, 4\]/],
    ["channels", () => xt.conv2d(xt.zeros([1, 2, 5, 5]), xt.zeros([4, 3, 3, 3])), /conv2d: input \[1, 2, 5, 5\] does not fit weight \[4, 3, 3, 3\]/],
    ["bias", () => xt.conv2d(xt.zeros([1, 3, 5, 5]), xt.zeros([4, 3, 3, 3]), xt.zeros([3])), /conv2d: bias \[3\]/],
    ["kernel too large", () => xt.conv2d(xt.zeros([1, 1, 2, 2]), xt.zeros([1, 1, 3, 3])), /conv2d: kernel 3×3 is larger than the padded input 2×2/],
    ["pool kernel too large", () => xt.maxPool2d(xt.zeros([1, 1, 2, 2]), 3), /max_pool2d: kernel 3×3/],
    ["bad stride", () => xt.maxPool2d(xt.zeros([1, 1, 4, 4]), 2, 0), /max_pool2d: stride must be positive/],
    ["pool padding", () => xt.maxPool2d(xt.zeros([1, 1, 4, 4]), 2, 2, 2), /max_pool2d: padding 2×2 should be at most half/],
  ];
  for (const [name, fn, msg] of cases) {
    test(name, () => {
      expect(fn).toThrow(XtError);
      expect(fn).toThrow(msg);
    });
  }
});
