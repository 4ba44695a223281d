/**
 * Module: PyTorch's nn.Module reduced to what xt needs. Parameters and children are kept in
 * registration order, which decides both the dotted names and (through construction order) the
 * random draws of the initial weights.
 */
import { noGrad } from "../autograd.ts";
import { XtError } from "../errors.ts";
import { shapeStr } from "../shape.ts";
import { Tensor } from "../tensor.ts";

export abstract class Module {
  training = true;
  private readonly params = new Map<string, Tensor>();
  private readonly children = new Map<string, Module>();
  private readonly buffers = new Map<string, Tensor>();

  /** Register a learnable tensor under `name` (it becomes a leaf that requires grad). */
  protected param(name: string, t: Tensor): Tensor {
    t.requiresGrad = true;
    this.params.set(name, t);
    return t;
  }
  /** Register a non-learnable tensor saved with the module (PyTorch's register_buffer). */
  protected buffer(name: string, t: Tensor): Tensor {
    this.buffers.set(name, t);
    return t;
  }
  protected child<M extends Module>(name: string, m: M): M {
    this.children.set(name, m);
    return m;
  }

  namedChildren(): [string, Module][] {
    return [...this.children];
  }
  *namedModules(prefix = ""): Generator<[string, Module]> {
    yield [prefix, this];
    for (const [n, c] of this.children) yield* c.namedModules(prefix ? `${prefix}.${n}` : n);
  }
  *namedParameters(prefix = ""): Generator<[string, Tensor]> {
    for (const [n, p] of this.params) yield [prefix ? `${prefix}.${n}` : n, p];
    for (const [n, c] of this.children) yield* c.namedParameters(prefix ? `${prefix}.${n}` : n);
  }
  parameters(): Tensor[] {
    return [...this.namedParameters()].map(([, p]) => p);
  }
  numParameters(): number {
    return this.parameters().reduce((s, p) => s + p.numel, 0);
  }

  train(mode = true): this {
    this.training = mode;
    for (const c of this.children.values()) c.train(mode);
    return this;
  }
  eval(): this {
    return this.train(false);
  }

  /** Call fn on every submodule, children before their parent (PyTorch's Module.apply). */
  apply(fn: (m: Module) => void): this {
    for (const c of this.children.values()) c.apply(fn);
    fn(this);
    return this;
  }

  zeroGrad(): void {
    for (const p of this.parameters()) p.grad = null;
  }

  /** Parameters and buffers by dotted name. */
  stateDict(prefix = ""): Map<string, Tensor> {
    const out = new Map<string, Tensor>();
    for (const [n, p] of this.params) out.set(prefix ? `${prefix}.${n}` : n, p);
    for (const [n, b] of this.buffers) out.set(prefix ? `${prefix}.${n}` : n, b);
    for (const [n, c] of this.children) for (const [k, v] of c.stateDict(prefix ? `${prefix}.${n}` : n)) out.set(k, v);
    return out;
  }

  /** Copy values into this module's parameters and buffers (shapes must match; strict by default). */
  loadStateDict(sd: Map<string, Tensor>, strict = true): void {
    const own = this.stateDict();
    if (strict) {
      const missing = [...own.keys()].filter((k) => !sd.has(k));
      const unexpected = [...sd.keys()].filter((k) => !own.has(k));
      if (missing.length || unexpected.length) {
        throw new XtError(
          `loadStateDict: ${missing.length ? `missing keys ${missing.join(", ")}` : ""}` +
            `${missing.length && unexpected.length ? "; " : ""}${unexpected.length ? `unexpected keys ${unexpected.join(", ")}` : ""}`,
        );
      }
    }
    noGrad(() => {
      for (const [k, t] of own) {
        const src = sd.get(k);
        if (!src) continue;
        if (src.shape.join() !== t.shape.join()) {
          throw new XtError(`loadStateDict: ${k} has shape ${shapeStr(src.shape)} in the source but ${shapeStr(t.shape)} in the model`);
        }
        t.backend.copyInto(t, src.to(t.dtype).contiguous());
      }
    });
  }

  /** A deep copy with its own parameter storage (Python's copy.deepcopy of a module). */
  clone(): this {
    return deepCopy(this, new Map()) as this;
  }
}

function deepCopy(x: unknown, memo: Map<unknown, unknown>): unknown {
  if (x === null || typeof x !== "object") return x;
  if (memo.has(x)) return memo.get(x);
  if (x instanceof Tensor) {
    const t = new Tensor(x.backend, x.backend.contiguous(x), [...x.shape]);
    if (x.requiresGrad) t.requiresGrad = true;
    memo.set(x, t);
    return t;
  }
  if (x instanceof Map) {
    const m = new Map();
    memo.set(x, m);
    for (const [k, v] of x) m.set(k, deepCopy(v, memo));
    return m;
  }
  if (Array.isArray(x)) {
    const a: unknown[] = [];
    memo.set(x, a);
    for (const v of x) a.push(deepCopy(v, memo));
    return a;
  }
  if (ArrayBuffer.isView(x)) return (x as unknown as { slice(): unknown }).slice();
  const copy = Object.create(Object.getPrototypeOf(x));
  memo.set(x, copy);
  for (const k of Object.keys(x)) copy[k] = deepCopy((x as Record<string, unknown>)[k], memo);
  return copy;
}
