/** The one training loop: events, hooks, ranks, stopping and continuing from a position. */
import { describe, expect, test } from "bun:test";
import { Linear } from "../nn/linear.ts";
import { fromArray } from "../ops/creation.ts";
import { mean } from "../ops/reduce.ts";
import { mul, sub } from "../ops/elementwise.ts";
import { Adam } from "../optim/adam.ts";
import { manualSeed } from "../random/index.ts";
import type { Tensor } from "../tensor.ts";
import type { TrainEvent } from "./events.ts";
import { trainLoop, type LoopHooks, type LoopPosition, type TrainLoopOptions } from "./loop.ts";

interface Batch { x: Tensor; y: Tensor; n: number }

/** Mean squared error of a linear model on batches that depend on the epoch and the step (so order matters). */
function setup(model?: Linear, opt?: Adam): { model: Linear; opt: Adam; o: Omit<TrainLoopOptions<Batch>, "sink"> } {
  manualSeed(1);
  const m = model ?? new Linear(2, 1);
  const optimizer = opt ?? new Adam(m.parameters(), { lr: 0.05 });
  let epoch = 0;
  const o: Omit<TrainLoopOptions<Batch>, "sink"> = {
    model: m, optimizer, stepsPerEpoch: 3, epochs: 2,
    batches: {
      startEpoch: (e) => void (epoch = e),
      batch: (i) => {
        const n = 2 + (i % 2);
        const xs = Array.from({ length: n * 2 }, (_, k) => Math.sin(epoch * 10 + i * 3 + k));
        const ys = Array.from({ length: n }, (_, k) => xs[2 * k]! - 2 * xs[2 * k + 1]!);
        return { x: fromArray(xs, [n, 2]), y: fromArray(ys, [n, 1]), n };
      },
    },
    forward: (b) => {
      const d = sub(m.forward(b.x), b.y);
      return { loss: mean(mul(d, d)), examples: b.n };
    },
    start: { command: "test", model: "Linear", params: 3, device: "cpu", dataset: "sin" },
  };
  return { model: m, opt: optimizer, o };
}

async function run(extra: Partial<TrainLoopOptions<Batch>> = {}, hooks: LoopHooks = {}) {
  const { model, opt, o } = setup();
  const events: TrainEvent[] = [];
  const r = await trainLoop({ ...o, sink: (e) => events.push(e), hooks, ...extra });
  return { model, opt, events, r };
}

describe("trainLoop", () => {
  test("events: start, steps, an epoch event per epoch (the loss weighted by examples), end", async () => {
    const { events, r } = await run();
    expect(events.map((e) => e.type)).toEqual(["start", "step", "step", "step", "epoch", "step", "step", "step", "epoch", "end"]);
    expect(events[0]).toMatchObject({ type: "start", totalSteps: 6, epochs: 2, lr: 0.05 });
    const steps = events.filter((e) => e.type === "step") as Extract<TrainEvent, { type: "step" }>[];
    expect(steps.map((s) => [s.step, s.epoch, s.examples])).toEqual([[1, 1, 2], [2, 1, 3], [3, 1, 2], [4, 2, 2], [5, 2, 3], [6, 2, 2]]);
    const ep = events[4] as Extract<TrainEvent, { type: "epoch" }>;
    expect(ep.trainLoss).toBe((steps[0]!.loss * 2 + steps[1]!.loss * 3 + steps[2]!.loss * 2) / 7);
    expect(events[9]).toMatchObject({ type: "end", steps: 6 });
    expect(r).toMatchObject({ interrupted: false, stoppedEarly: false, position: { step: 6, epoch: 2, stepInEpoch: 0 } });
  });

  test("a plain run (no epochs): no epoch events, no epoch in the steps; epochLoss 'steps' averages per step", async () => {
    const plain = await run({ epochs: undefined });
    expect(plain.events.map((e) => e.type)).toEqual(["start", "step", "step", "step", "end"]);
    expect(plain.events[1]).not.toHaveProperty("epoch");
    const perStep = await run({ epochLoss: "steps" });
    const steps = perStep.events.filter((e) => e.type === "step") as Extract<TrainEvent, { type: "step" }>[];
    const ep = perStep.events[4] as Extract<TrainEvent, { type: "epoch" }>;
    expect(ep.trainLoss).toBe((0 + steps[0]!.loss + steps[1]!.loss + steps[2]!.loss) / 3);
  });

  test("afterBackward runs between backward and the optimizer step, and the step uses the gradients it leaves", async () => {
    let seen = 0;
    const { model } = setup();
    const before = model.weight.toArray();
    const r = await run({}, {
      afterBackward: (params) => {
        seen++;
        for (const p of params) {
          expect(p.grad).not.toBeNull();
          p.grad = mul(p.grad!, fromArray([0], [])); // an all-reduce that averages to zero
        }
      },
    });
    expect(seen).toBe(6);
    expect(r.model.weight.toArray()).toEqual(before); // Adam with zero gradients does not move
  });

  test("evaluate's fields go into the epoch event; afterEpoch sees the position after the epoch; atEnd's into the end event", async () => {
    const seen: LoopPosition[] = [];
    const { events } = await run({}, {
      evaluate: (epoch) => ({ testLoss: epoch / 10, testAcc: 0.5 }),
      afterEpoch: (_e, pos) => void seen.push(structuredClone(pos)),
      atEnd: () => ({ checkpoint: "x.safetensors", loss: 1 }),
    });
    expect(events[4]).toMatchObject({ type: "epoch", epoch: 1, testLoss: 0.1, testAcc: 0.5 });
    expect(seen.map((p) => [p.step, p.epoch, p.stepInEpoch])).toEqual([[3, 1, 0], [6, 2, 0]]);
    expect(events[9]).toMatchObject({ type: "end", checkpoint: "x.safetensors", loss: 1 });
  });

  test("evaluate reports its progress as eval events before the epoch event, from rank 0 only", async () => {
    const evaluate = (_epoch: number, progress: (done: number, total: number) => void) => {
      progress(4, 10);
      progress(10, 10);
      return { testLoss: 1, testAcc: 0.5 };
    };
    const { events } = await run({}, { evaluate });
    expect(events.slice(4, 7)).toMatchObject([
      { type: "eval", split: "test", batch: 1, done: 4, total: 10, epoch: 1 },
      { type: "eval", split: "test", batch: 2, done: 10, total: 10, epoch: 1 },
      { type: "epoch", epoch: 1, testLoss: 1 },
    ]);
    expect(events.filter((e) => e.type === "eval").map((e) => (e as { batch: number }).batch)).toEqual([1, 2, 1, 2]);
    expect((await run({ rank: 1 }, { evaluate })).events).toEqual([]);
  });

  test("only rank 0 reports and saves; every rank evaluates", async () => {
    const calls: string[] = [];
    const { events } = await run({ rank: 1 }, {
      evaluate: () => void calls.push("evaluate"),
      afterEpoch: () => void calls.push("afterEpoch"),
      atEnd: () => void calls.push("atEnd"),
    });
    expect(events).toEqual([]);
    expect(calls).toEqual(["evaluate", "evaluate"]);
  });

  test("afterStep can end the run early; the stop signal interrupts it after the step", async () => {
    const early = await run({}, { afterStep: (_r, pos) => pos.step === 2 });
    expect(early.r).toMatchObject({ stoppedEarly: true, interrupted: false, position: { step: 2, stepInEpoch: 2 } });
    expect(early.events[early.events.length - 1]).not.toHaveProperty("interrupted");
    const ac = new AbortController();
    const stopped = await run({ signal: ac.signal }, { afterStep: (_r, pos) => void (pos.step === 2 && ac.abort()) });
    expect(stopped.r).toMatchObject({ interrupted: true, position: { step: 2, epoch: 0, stepInEpoch: 2 } });
    expect(stopped.events.map((e) => e.type)).toEqual(["start", "step", "step", "end"]);
    expect(stopped.events[3]).toMatchObject({ interrupted: true, steps: 2 });
    // A stop requested during the last step is not an interruption: the run is complete.
    const ac2 = new AbortController();
    const last = await run({ signal: ac2.signal }, { afterStep: (_r, pos) => void (pos.step === 6 && ac2.abort()) });
    expect(last.r.interrupted).toBe(false);
  });

  test("a run continued from a saved position gives the uninterrupted run's steps and epoch losses", async () => {
    const full = await run();
    const ac = new AbortController();
    const first = await run({ signal: ac.signal }, { afterStep: (_r, pos) => void (pos.step === 4 && ac.abort()) });
    // Continue with the same model and optimizer (what a checkpoint restores) and epoch 2's batches.
    const { o } = setup(first.model, first.opt);
    o.batches.startEpoch!(2);
    const events: TrainEvent[] = [];
    await trainLoop({ ...o, from: first.r.position, sink: (e) => events.push(e) });
    expect(events[0]).toMatchObject({ type: "start", resumedAt: 4, totalSteps: 6 });
    const losses = (ev: TrainEvent[]) => ev.filter((e) => e.type === "step" || e.type === "epoch").map((e) => (e.type === "step" ? e.loss : e.trainLoss));
    expect([...losses(first.events), ...losses(events)]).toEqual(losses(full.events));
  });
});
