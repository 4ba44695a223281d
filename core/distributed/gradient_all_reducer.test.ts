import { describe, expect, test } from "bun:test";
import { Linear } from "../nn/linear.ts";
import { fromArray } from "../ops/creation.ts";
import { mul } from "../ops/elementwise.ts";
import { sum } from "../ops/reduce.ts";
import { manualSeed } from "../random/index.ts";
import type { Tensor } from "../tensor.ts";
import { SingleProcess, type Collective, type PendingReduction, type ReduceBuffer } from "./collective.ts";
import { GradientAllReducer } from "./gradient_all_reducer.ts";

/**
 * Two ranks in one process: the "other rank" holds `other(i)` times this rank's values, so the sum
 * is known. Records when each reduction starts and finishes.
 */
class TwoRanks implements Collective {
  readonly rank = 0;
  readonly size = 2;
  readonly description = "test pair";
  log: string[] = [];
  constructor(private readonly factor = 1) {}
  allreduceSum(buf: ReduceBuffer): void {
    for (let i = 0; i < buf.length; i++) buf[i] = buf[i]! * (1 + this.factor);
  }
  startAllreduceSum(buf: ReduceBuffer): PendingReduction {
    const id = this.log.filter((l) => l.startsWith("start")).length;
    this.log.push(`start ${id} (${buf.length})`);
    let done = false;
    return {
      test: () => done,
      wait: () => {
        if (!done) this.allreduceSum(buf);
        done = true;
        this.log.push(`wait ${id}`);
      },
    };
  }
  broadcast(): void {}
  barrier(): void {}
  abort(): never {
    throw new Error("abort");
  }
  finalize(): void {}
}

function threeLayers(): Linear[] {
  manualSeed(0);
  return [new Linear(4, 8), new Linear(8, 8), new Linear(8, 2)];
}
const paramsOf = (ls: Linear[]): Tensor[] => ls.flatMap((l) => [l.weight, l.bias!]);

function backward(ls: Linear[]): void {
  let x = fromArray(Float32Array.from({ length: 12 }, (_, i) => Math.sin(i)), [3, 4]);
  for (const l of ls) x = l.forward(x);
  sum(mul(x, x)).backward();
}

describe("GradientAllReducer", () => {
  test("buckets hold parameters in reverse order, the first under its own cap", () => {
    const p = paramsOf(threeLayers()); // numels 32, 8, 64, 8, 16, 2
    const r = new GradientAllReducer(p, new TwoRanks(), { firstBucketBytes: 64, bucketBytes: 200 });
    // Reverse: l3.bias (2), l3.weight (16) → 72 B ≥ 64 closes; l2.bias (8) + l2.weight (64) → 288 B ≥ 200 closes; then l1.
    expect(r.buckets.map((b) => b.params.map((t) => t.numel))).toEqual([[2, 16], [8, 64], [8, 32]]);
    expect(r.buckets.map((b) => b.offsets)).toEqual([[0, 2], [0, 8], [0, 8]]);
    expect(r.buckets.map((b) => b.count)).toEqual([18, 72, 40]);
  });

  test("averages: each .grad becomes the mean over ranks, bucket by bucket, started during backward", () => {
    const ls = threeLayers();
    const p = paramsOf(ls);
    backward(ls);
    const local = p.map((t) => Array.from(t.grad!.data()));
    for (const t of p) t.grad = null;
    const c = new TwoRanks(3); // the other rank's gradient is 3× ours: mean = 2× ours
    const r = new GradientAllReducer(p, c, { firstBucketBytes: 64, bucketBytes: 200 }).attach();
    backward(ls);
    // All three buckets were ready (and started) inside backward, in bucket order, none waited yet.
    expect(c.log).toEqual(["start 0 (18)", "start 1 (72)", "start 2 (40)"]);
    r.finish();
    expect(c.log.slice(3)).toEqual(["wait 0", "wait 1", "wait 2"]);
    expect(r.lastTiming.startedInBackward).toBe(3);
    expect(r.lastTiming.bytes).toBe((18 + 72 + 40) * 4);
    p.forEach((t, i) => {
      expect(t.grad!.shape).toEqual(t.shape);
      expect(Array.from(t.grad!.data())).toEqual(local[i]!.map((v) => Math.fround(v * 2)));
    });
  });

  test("without attach(), finish() starts every bucket after backward", () => {
    const ls = threeLayers();
    const c = new TwoRanks();
    const r = new GradientAllReducer(paramsOf(ls), c, { firstBucketBytes: 64, bucketBytes: 200 });
    backward(ls);
    expect(c.log).toEqual([]);
    r.finish();
    expect(c.log).toEqual(["start 0 (18)", "start 1 (72)", "start 2 (40)", "wait 0", "wait 1", "wait 2"]);
    expect(r.lastTiming.startedInBackward).toBe(0);
  });

  test("a parameter without a gradient contributes zeros", () => {
    const ls = threeLayers();
    const p = paramsOf(ls);
    const r = new GradientAllReducer(p, new TwoRanks(), {});
    r.finish();
    for (const t of p) expect(Array.from(t.grad!.data()).every((v) => v === 0)).toBe(true);
  });

  test("a second backward before finish() is an error, not a silent mix of two steps", () => {
    const ls = threeLayers();
    new GradientAllReducer(paramsOf(ls), new TwoRanks(), { firstBucketBytes: 64, bucketBytes: 200 }).attach();
    backward(ls);
    expect(() => backward(ls)).toThrow(/produced twice before finish/);
  });

  test("one process: attach and finish leave the gradients alone", () => {
    const ls = threeLayers();
    const p = paramsOf(ls);
    const r = new GradientAllReducer(p, new SingleProcess()).attach();
    backward(ls);
    const before = p.map((t) => t.grad);
    r.finish();
    p.forEach((t, i) => expect(t.grad).toBe(before[i]!));
  });

  test("detach() removes the hooks", () => {
    const ls = threeLayers();
    const c = new TwoRanks();
    const r = new GradientAllReducer(paramsOf(ls), c, { firstBucketBytes: 64, bucketBytes: 200 }).attach();
    r.detach();
    backward(ls);
    expect(c.log).toEqual([]);
    expect(paramsOf(ls).every((t) => t.postAccumulateGradHooks === null)).toBe(true);
  });
});

describe("registerPostAccumulateGradHook", () => {
  test("runs once per backward, after the leaf's gradient is complete, in the order backward finishes leaves", () => {
    const ls = threeLayers();
    const seen: string[] = [];
    const names = new Map(paramsOf(ls).map((t, i) => [t, `${Math.floor(i / 2) + 1}.${i % 2 ? "b" : "w"}`]));
    for (const t of paramsOf(ls)) {
      // l1.weight feeds the output through every layer; its gradient is final only at the very end.
      t.registerPostAccumulateGradHook((x) => seen.push(`${names.get(x)} ${x.grad!.shape.join("x")}`));
    }
    backward(ls);
    expect(seen.length).toBe(6);
    expect(seen.slice(0, 2).sort()).toEqual(["3.b 2", "3.w 2x8"]);
    expect(seen.slice(4).sort()).toEqual(["1.b 8", "1.w 8x4"]);
  });

  test("a weight used twice gets the hook once, with the summed gradient", () => {
    const w = fromArray([2], [1]).requiresGrad_();
    const grads: number[][] = [];
    const remove = w.registerPostAccumulateGradHook((t) => grads.push(Array.from(t.grad!.data())));
    sum(mul(mul(w, w), fromArray([3], [1]))).backward(); // d(3w²)/dw = 6w = 12
    expect(grads).toEqual([[12]]);
    remove();
    expect(w.postAccumulateGradHooks).toBeNull();
  });

  test("only leaves take the hook", () => {
    const w = fromArray([2], [1]).requiresGrad_();
    expect(() => mul(w, w).registerPostAccumulateGradHook(() => {})).toThrow(/only leaf tensors/);
  });
});
