/** Every op's forward against PyTorch 1.13 (fixtures/ops/ops.json, written by fixtures/gen/gen_ops.py). */
import { describe, expect, test } from "bun:test";
import ops from "../fixtures/ops/ops.json";
import { XtError } from "../core/errors.ts";
import { full, zeros } from "../core/index.ts";
import type { Tensor } from "../core/tensor.ts";
import { decode, fixtureTensor, OPS, type FixtureTensor, type OpCase as Case } from "./op_table.ts";


function expectClose(got: Tensor, want: FixtureTensor, id: string): void {
  expect(got.shape, `${id} shape`).toEqual(want.shape);
  const g = got.toArray();
  const w = decode(want.values);
  const exact = want.dtype === "bool" || want.dtype.startsWith("int");
  expect(got.dtype === "bool" || got.dtype === "int32", `${id} dtype ${got.dtype} vs ${want.dtype}`).toBe(exact);
  for (let i = 0; i < w.length; i++) {
    const a = g[i]!;
    const b = w[i]!;
    if (exact || !Number.isFinite(b)) {
      if (Number.isNaN(b)) expect(Number.isNaN(a), `${id}[${i}]`).toBe(true);
      else expect(a, `${id}[${i}]`).toBe(b);
    } else {
      const tol = 1e-6 + 1e-5 * Math.abs(b);
      if (!(Math.abs(a - b) <= tol)) throw new Error(`${id}[${i}]: got ${a}, PyTorch ${b}`);
    }
  }
}

describe("ops match PyTorch", () => {
  for (const c of (ops as { cases: Case[] }).cases) {
    test(`${c.id} (${c.op})`, () => {
      const fn = OPS[c.op];
      if (!fn) throw new Error(`no xt op for ${c.op}`);
      const out = fn(c.inputs.map((t) => fixtureTensor(t)), c.args);
      const outs = Array.isArray(out) ? out : [out];
      const want = c.outputs ?? [c.output!];
      expect(outs.length).toBe(want.length);
      outs.forEach((o, i) => expectClose(o, want[i]!, c.id));
    });
  }
});

interface ShapeError {
  id: string;
  op: string;
  shapes: number[][];
  dtypes: string[];
  args: Record<string, unknown>;
  error: string;
}

describe("incompatible shapes throw an error naming the op and the shapes", () => {
  for (const c of (ops as unknown as { shape_errors: ShapeError[] }).shape_errors) {
    test(c.id, () => {
      const valueError = c.error.includes("index out of range");
      const inputs = c.shapes.map((s, i) => {
        const dtype = c.dtypes[i]!.startsWith("int") ? "int32" : c.dtypes[i] === "bool" ? "bool" : "float32";
        // Index errors depend on values, not shapes: use an index one past the end.
        return valueError && i === 1 ? full(s, c.shapes[0]![0]!, { dtype }) : zeros(s, { dtype });
      });
      let err: unknown;
      try {
        OPS[c.op]!(inputs, c.args);
      } catch (e) {
        err = e;
      }
      expect(err, `PyTorch says: ${c.error}`).toBeInstanceOf(XtError);
      const msg = (err as Error).message;
      expect(msg.startsWith(`${c.op}:`), msg).toBe(true);
      expect(msg).toContain(`[${c.shapes[0]!.join(", ")}]`);
      // Ops that combine two data tensors name both shapes.
      const both = ["add", "sub", "mul", "div", "matmul", "cat", "stack", "where", "cross_entropy"];
      if (both.includes(c.op)) expect(msg).toContain(`[${c.shapes[1]!.join(", ")}]`);
    });
  }
});
