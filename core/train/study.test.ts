/** The study engine: run order, one event stream, aggregation, and Ctrl-C keeping the finished rows. */
import { describe, expect, test } from "bun:test";
import type { EndEvent, TrainEvent } from "./events.ts";
import { aggregate, meanStd, runStudy, type RunContext, type RunOutcome, type StudyVariantSpec } from "./study.ts";

const variants: StudyVariantSpec<number>[] = [
  { name: "a", params: { k: 1 }, value: 1 },
  { name: "b", params: { k: 2 }, value: 2 },
];

/** A fake run of `steps` steps: start, steps, end events; its measure is value·10 + seed. */
function fakeRun(steps: number, onStep?: (ctx: RunContext, step: number) => void) {
  return async (v: number, ctx: RunContext): Promise<RunOutcome> => {
    ctx.sink({ type: "start", command: "x", model: `m${v}`, params: v, device: "cpu", dataset: "d", totalSteps: steps });
    const losses: number[] = [];
    for (let s = 1; s <= steps; s++) {
      const loss = v + s / 10;
      losses.push(loss);
      ctx.sink({ type: "step", step: s, totalSteps: steps, loss, lr: 1, examples: 1, elapsedMs: s });
      onStep?.(ctx, s);
      if (ctx.signal?.aborted && s < steps) {
        ctx.sink({ type: "end", steps: s, elapsedMs: s, interrupted: true });
        return { metrics: {}, losses, interrupted: true };
      }
    }
    ctx.sink({ type: "end", steps, elapsedMs: steps });
    return { metrics: { m: v * 10 + ctx.seed, only_a: v === 1 ? 1 : Number.NaN }, losses, interrupted: false };
  };
}

describe("meanStd and aggregate", () => {
  test("mean, sample std (n − 1), the values; one value has std 0", () => {
    expect(meanStd([1, 2, 3])).toEqual({ mean: 2, std: 1, values: [1, 2, 3] });
    expect(meanStd([5])).toEqual({ mean: 5, std: 0, values: [5] });
  });
  test("variants in the study's order; a measure with a non-finite value is left out; variants without runs too", () => {
    const rows = aggregate(variants, [{ variant: "b", seed: 3, metrics: { m: 1, bad: Number.NaN } }]);
    expect(rows).toEqual([{ name: "b", params: { k: 2 }, seeds: [3], metrics: { m: { mean: 1, std: 0, values: [1] } } }]);
  });
  test("the detail is aggregated like the metrics, apart from them", () => {
    const rows = aggregate(variants, [
      { variant: "a", seed: 1, metrics: { m: 1 }, detail: { d: 2 } },
      { variant: "a", seed: 2, metrics: { m: 3 }, detail: { d: 4 } },
    ]);
    expect(rows[0]!.detail).toEqual({ d: { mean: 3, std: Math.SQRT2, values: [2, 4] } });
    expect(Object.keys(rows[0]!.metrics)).toEqual(["m"]);
  });
});

describe("runStudy", () => {
  test("seed by seed, every variant; start events carry the study position; the runs' end events are dropped; one end with the variants", async () => {
    const events: TrainEvent[] = [];
    const rows: EndEvent[] = [];
    const r = await runStudy({
      command: "ablate test", variants, seeds: [7, 8], plannedSteps: () => 3, run: fakeRun(3),
      sink: (e) => events.push(e), onRows: (e) => rows.push(e),
    });
    const starts = events.filter((e) => e.type === "start");
    expect(starts.map((e) => e.type === "start" && [e.study!.variant, e.study!.seed, e.study!.index, e.study!.stepsBefore])).toEqual([
      ["a", 7, 1, 0], ["b", 7, 2, 3], ["a", 8, 3, 6], ["b", 8, 4, 9],
    ]);
    expect(starts.every((e) => e.type === "start" && e.study!.runs === 4 && e.study!.totalSteps === 12 && e.study!.command === "ablate test")).toBe(true);
    const ends = events.filter((e) => e.type === "end");
    expect(ends.length).toBe(1);
    expect(events.at(-1)).toBe(ends[0]!);
    const end = ends[0] as EndEvent;
    expect(end).toMatchObject({ type: "end", command: "ablate test", steps: 12 });
    expect(end.interrupted).toBeUndefined();
    expect(end.variants).toEqual([
      { name: "a", params: { k: 1 }, seeds: [7, 8], metrics: { m: { mean: 17.5, std: Math.SQRT1_2, values: [17, 18] }, only_a: { mean: 1, std: 0, values: [1, 1] } } },
      { name: "b", params: { k: 2 }, seeds: [7, 8], metrics: { m: { mean: 27.5, std: Math.SQRT1_2, values: [27, 28] } } },
    ]);
    expect(rows.length).toBe(4);
    expect(rows[1]!.variants!.map((v) => [v.name, v.seeds])).toEqual([["a", [7]], ["b", [7]]]);
    expect(r.curves.map((c) => [c.variant, c.seed, c.losses.length])).toEqual([["a", 7, 3], ["b", 7, 3], ["a", 8, 3], ["b", 8, 3]]);
  });

  test("the stop signal in run 3 ends the study with the rows of runs 1 and 2, interrupted", async () => {
    const ctl = new AbortController();
    const events: TrainEvent[] = [];
    const r = await runStudy({
      command: "ablate test", variants, seeds: [7, 8], plannedSteps: () => 5, signal: ctl.signal, sink: (e) => events.push(e),
      run: fakeRun(5, (ctx, s) => {
        if (ctx.seed === 8 && s === 2) ctl.abort();
      }),
    });
    expect(r.interrupted).toBe(true);
    expect(r.end).toMatchObject({ type: "end", interrupted: true, steps: 12 });
    expect(r.variants.map((v) => [v.name, v.seeds, v.metrics.m!.values])).toEqual([["a", [7], [17]], ["b", [7], [27]]]);
    expect(events.filter((e) => e.type === "start").length).toBe(3);
    expect(r.curves.length).toBe(2);
  });

  test("a stop between runs (after a run finished) also ends the study, with every finished row", async () => {
    const ctl = new AbortController();
    const r = await runStudy({
      command: "ablate test", variants, seeds: [7], plannedSteps: () => 2, signal: ctl.signal, sink: () => {},
      run: fakeRun(2, (_ctx, s) => {
        if (s === 2) ctl.abort(); // at the last step: the run itself finishes
      }),
    });
    expect(r.interrupted).toBe(true);
    expect(r.variants.map((v) => v.name)).toEqual(["a"]);
  });
});
