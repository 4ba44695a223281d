/**
 * Layer and model parity with PyTorch at other seeds and shapes (fixtures/layers, written by
 * fixtures/gen/gen_layers.py and, for the convolutional modules, fixtures/gen/gen_cnn.py): the case's RNG draws are replayed in order, so initial weights,
 * inputs and dropout masks must come out of xt's generator exactly as PyTorch drew them; then
 * outputs and the gradients of every parameter and input are compared within 1e-5.
 */
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import * as xt from "../core/index.ts";
import type { Module } from "../core/nn/module.ts";
import type { Tensor } from "../core/tensor.ts";
import { fixtureTensor, type FixtureTensor } from "./op_table.ts";

interface LayerCase {
  id: string;
  layer: string;
  seed: number;
  mode: "train" | "eval";
  ctor: { args: unknown[]; names: string[] };
  method: "forward" | "sample";
  call: [string, string | null][];
  draws: string[];
  inputs: Record<string, FixtureTensor>;
  params?: Record<string, FixtureTensor>;
  paramChecksums?: Record<string, { sum: number; sumAbs: number }>;
  output: FixtureTensor;
  gradOutput?: FixtureTensor;
  grads?: { params: Record<string, FixtureTensor>; inputs: Record<string, FixtureTensor> };
  sampleKwargs?: { max_length: number };
}

type Ctor = new (...args: never[]) => Module;
const LAYERS: Record<string, Ctor> = {
  MultiHeadAttention: xt.MultiHeadAttention,
  PositionalEncoding: xt.PositionalEncoding,
  FeedForwardNetwork: xt.FeedForwardNetwork,
  TransformerDecoderLayer: xt.TransformerDecoderLayer,
  TransformerEncoderLayer: xt.TransformerEncoderLayer,
  PatchEmbedding: xt.PatchEmbedding,
  CaptioningTransformer: xt.CaptioningTransformer,
  VisionTransformer: xt.VisionTransformer,
  // fixtures/gen/gen_cnn.py: the small-data study's modules (HybridVisionTransformer is the ViT
  // with its 10th argument, the conv stem's channels).
  Conv2d: xt.Conv2d,
  MaxPool2d: xt.MaxPool2d,
  SmallCNN: xt.SmallCNN,
  HybridVisionTransformer: xt.VisionTransformer,
};

const TOL = 1e-5;

function maxAbsDiff(got: Tensor, want: FixtureTensor, what: string): number {
  expect(got.shape, `${what} shape`).toEqual(want.shape);
  const g = got.toArray();
  let worst = 0;
  want.values.forEach((w, i) => {
    const d = Math.abs(g[i]! - Math.fround(w as number));
    if (!(d <= worst)) worst = d;
  });
  return worst;
}

function expectClose(got: Tensor, want: FixtureTensor, what: string): void {
  const d = maxAbsDiff(got, want, what);
  if (!(d <= TOL)) throw new Error(`${what}: max abs difference ${d} > ${TOL}`);
}

/** Parse "randn x (2,5,16)" / "randn mask (5,5)<0.5" / "randint captions [0,6) (3,5)". */
function replayDraw(d: string, inputs: Map<string, Tensor>): void {
  const shapeOf = (s: string): number[] => s.split(",").filter((x) => x.trim() !== "").map(Number);
  let m = /^randn (\w+) \(([\d,]*)\)(<0\.5)?$/.exec(d);
  if (m) {
    const t = xt.randn(shapeOf(m[2]!));
    inputs.set(m[1]!, m[3] ? t.lt(0.5) : t);
    return;
  }
  m = /^randint (\w+) \[(\d+),(\d+)\) \(([\d,]*)\)$/.exec(d);
  if (m) {
    inputs.set(m[1]!, xt.randint(Number(m[2]), Number(m[3]), shapeOf(m[4]!)));
    return;
  }
  m = /^\(no RNG\) (\w+) = tril\(ones\((\d+),(\d+)\)\)$/.exec(d);
  if (m) {
    inputs.set(m[1]!, xt.tril(xt.ones([Number(m[2]), Number(m[3])])));
    return;
  }
  throw new Error(`cannot replay draw '${d}'`);
}

function runCase(c: LayerCase): void {
  const inputs = new Map<string, Tensor>();
  let model: Module | undefined;
  let out: Tensor | undefined;
  for (const d of c.draws) {
    if (d.startsWith("manual_seed ")) xt.manualSeed(Number(d.slice(12)));
    else if (d.startsWith("construct ")) model = new LAYERS[c.layer]!(...(c.ctor.args as never[]));
    else if (d === "train()") model!.train();
    else if (d === "eval()") model!.eval();
    else if (d.startsWith("dropout ")) continue; // drawn inside the forward, in this order
    else if (d === "forward") {
      for (const [, t] of inputs) if (t.dtype === "float32") t.requiresGrad_();
      const args = c.call.map(([, name]) => (name === null ? null : inputs.get(name)!));
      out = (model as unknown as { forward(...a: unknown[]): Tensor }).forward(...args);
    } else if (d.startsWith("sample(")) {
      const feats = inputs.get(c.call[0]![1]!)!;
      out = (model as xt.CaptioningTransformer).sample(feats, c.sampleKwargs!.max_length);
    } else if (d.startsWith("randn g ")) {
      const g = xt.randn(out!.shape);
      expectClose(g, c.gradOutput!, "upstream gradient draw");
      out!.backward(g);
    } else replayDraw(d, inputs);
  }
  // Inputs drawn from the generator must be PyTorch's, bit for bit.
  for (const [name, want] of Object.entries(c.inputs)) {
    const got = inputs.get(name)!;
    expect(got.toArray(), `input ${name}`).toEqual(fixtureTensor(want).toArray());
  }
  const named = new Map(model!.namedParameters());
  for (const [name, want] of Object.entries(c.params ?? {})) expectClose(named.get(name)!, want, `initial ${name}`);
  for (const [name, sums] of Object.entries(c.paramChecksums ?? {})) {
    const v = named.get(name)!.toArray();
    expect(v.reduce((s, x) => s + x, 0)).toBeCloseTo(sums.sum, 5);
    expect(v.reduce((s, x) => s + Math.abs(x), 0)).toBeCloseTo(sums.sumAbs, 5);
  }
  if (c.method === "sample") {
    expect(out!.toArray(), "sampled ids").toEqual(c.output.values as number[]);
    return;
  }
  expectClose(out!, c.output, "output");
  for (const [name, want] of Object.entries(c.grads?.params ?? {})) expectClose(named.get(name)!.grad!, want, `grad ${name}`);
  for (const [name, want] of Object.entries(c.grads?.inputs ?? {})) expectClose(inputs.get(name)!.grad!, want, `grad input ${name}`);
}

const dir = join(import.meta.dir, "../fixtures/layers");
for (const file of readdirSync(dir).filter((f) => f.endsWith(".json")).sort()) {
  const data = JSON.parse(readFileSync(join(dir, file), "utf8")) as { cases: LayerCase[]; tables?: Record<string, FixtureTensor> };
  describe(`${file}: parity with PyTorch`, () => {
    for (const c of data.cases) test(c.id, () => runCase(c));
  });
}
