/** Maps fixtures/ops/ops.json op names (PyTorch's) onto xt calls, for the op and gradient tests. */
import * as xt from "../core/index.ts";
import type { Tensor } from "../core/tensor.ts";

type Args = Record<string, unknown>;
const dimArg = (a: Args): number | number[] | null => (a.dim ?? null) as number | number[] | null;
const num = (v: unknown): number => (v === "inf" ? Infinity : v === "-inf" ? -Infinity : v === "nan" ? NaN : (v as number));

export const OPS: Record<string, (x: Tensor[], a: Args) => Tensor | Tensor[]> = {
  add: ([a, b]) => a!.add(b!),
  sub: ([a, b]) => a!.sub(b!),
  mul: ([a, b]) => a!.mul(b!),
  div: ([a, b]) => a!.div(b!),
  pow: ([a, b], g) => a!.pow(b ?? (g.exponent as number)),
  neg: ([a]) => a!.neg(),
  exp: ([a]) => a!.exp(),
  log: ([a]) => a!.log(),
  sqrt: ([a]) => a!.sqrt(),
  tanh: ([a]) => a!.tanh(),
  erf: ([a]) => a!.erf(),
  relu: ([a]) => a!.relu(),
  gelu: ([a]) => a!.gelu(),
  lt: ([a, b]) => a!.lt(b!),
  gt: ([a, b]) => a!.gt(b!),
  eq: ([a, b]) => a!.eq(b!),
  ne: ([a, b]) => a!.ne(b!),
  where: ([c, a, b]) => xt.where(c!, a!, b!),
  masked_fill: ([x, m], g) => x!.maskedFill(m!, num(g.value)),
  sum: ([x], g) => x!.sum(dimArg(g), Boolean(g.keepdim)),
  mean: ([x], g) => x!.mean(dimArg(g), Boolean(g.keepdim)),
  var: ([x], g) => x!.var(dimArg(g), g.unbiased !== false, Boolean(g.keepdim)),
  max: ([x], g) => {
    if (g.dim === null || g.dim === undefined) return x!.max();
    const r = x!.max(g.dim as number, Boolean(g.keepdim));
    return [r.values, r.indices];
  },
  argmax: ([x], g) => x!.argmax((g.dim ?? undefined) as number | undefined, Boolean(g.keepdim)),
  matmul: ([a, b]) => a!.matmul(b!),
  softmax: ([x], g) => x!.softmax(g.dim as number),
  log_softmax: ([x], g) => x!.logSoftmax(g.dim as number),
  cat: (xs, g) => xt.cat(xs, (g.dim ?? 0) as number),
  stack: (xs, g) => xt.stack(xs, (g.dim ?? 0) as number),
  index_select: ([x, i], g) => x!.indexSelect(g.dim as number, i!),
  embedding: ([w, i], g) => xt.embedding(w!, i!, g.padding_idx as number | undefined),
  cross_entropy: ([x, t], g) => xt.crossEntropy(x!, t!, (g.reduction ?? "mean") as "none" | "mean" | "sum"),
  tril: ([x], g) => xt.tril(x!, (g.diagonal ?? 0) as number),
  transpose: ([x], g) => x!.transpose(g.dim0 as number, g.dim1 as number),
  permute: ([x], g) => x!.permute(g.dims as number[]),
  reshape: ([x], g) => x!.reshape(g.shape as number[]),
  unsqueeze: ([x], g) => x!.unsqueeze(g.dim as number),
  squeeze: ([x], g) => x!.squeeze((g.dim ?? undefined) as number | undefined),
  expand: ([x], g) => x!.expand(g.shape as number[]),
  narrow: ([x], g) => x!.narrow(g.dim as number, g.start as number, g.length as number),
  contiguous: ([x], g) => {
    const [d0, d1] = g.transpose as [number, number];
    const c = x!.transpose(d0, d1).contiguous();
    if (!c.isContiguous()) throw new Error("contiguous() returned a non-contiguous tensor");
    return c;
  },
};

/** Ops whose outputs carry no gradient (comparisons, indices). */
export const NON_DIFFERENTIABLE = new Set(["lt", "gt", "eq", "ne", "argmax"]);

export interface FixtureTensor {
  shape: number[];
  dtype: string;
  values: (number | string)[];
}

/** One case of fixtures/ops/ops.json. */
export interface OpCase {
  id: string;
  op: string;
  inputs: FixtureTensor[];
  args: Record<string, unknown>;
  output?: FixtureTensor;
  outputs?: FixtureTensor[];
  note?: string;
}

export function fixtureTensor(f: FixtureTensor, floatDtype: "float32" | "float64" = "float32"): Tensor {
  const dtype = f.dtype === "bool" ? "bool" : f.dtype.startsWith("int") ? "int32" : floatDtype;
  return xt.fromArray(f.values.map(num), f.shape, dtype);
}

export const decode = (vs: (number | string)[]): number[] => vs.map(num);
