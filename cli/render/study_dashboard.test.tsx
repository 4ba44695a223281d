/** One dashboard for a whole study (`xt ablate`): run i of n, seed, the study's ETA, a line per finished run. */
import { afterEach, expect, test } from "bun:test";
import { Chalk } from "chalk";
import { cleanup, render } from "ink-testing-library";
import type { StartEvent, StudyPosition, TrainEvent } from "../../core/train/events.ts";
import { Dashboard, liveLines, staticLines } from "./dashboard.tsx";
import { DashboardState } from "./dashboard/state.ts";
import { plainLine } from "./plain.ts";

const c = new Chalk({ level: 0 });
afterEach(() => cleanup());

const position = (index: number, stepsBefore: number, elapsedBeforeMs: number, variant: string, seed: number): StudyPosition => ({
  command: "ablate attention", index, runs: 4, variant, seed, stepsBefore, totalSteps: 400, elapsedBeforeMs,
});
const start = (study: StudyPosition): StartEvent => ({
  type: "start", command: "ablate attention", model: `ViT ${study.variant}`, params: 10, device: "cpu", dataset: "d", totalSteps: 100, epochs: 1, study,
});
const step = (s: number, ms: number): TrainEvent => ({ type: "step", step: s, totalSteps: 100, epoch: 1, loss: 2 - s / 100, lr: 1e-3, examples: 8, elapsedMs: ms });

test("a new run resets the run's numbers, keeps the finished run's line, and the study's ETA covers the whole study", () => {
  const st = new DashboardState();
  st.apply(start(position(1, 0, 0, "full", 231)));
  for (let s = 1; s <= 100; s++) st.apply(step(s, s * 10));
  st.apply({ type: "epoch", epoch: 1, epochs: 1, trainLoss: 1.5, testAcc: 0.7, elapsedMs: 1000 });
  st.apply(start(position(2, 100, 1000, "one-head", 231)));
  st.apply(step(1, 10));
  st.apply(step(50, 500));
  const v = st.view();
  expect(v.step).toBe(50);
  expect(v.epochEvents.length).toBe(0);
  expect(v.minLoss).toBeCloseTo(1.5, 10); // this run's lowest loss, not the previous run's
  expect(v.finishedRuns.map((r) => [r.start.study.variant, r.lastEpoch?.testAcc])).toEqual([["full", 0.7]]);
  // 150 of 400 steps in 1.5 s: 250 steps left at that rate.
  expect(v.study!.stepsDone).toBe(150);
  expect(v.study!.elapsedMs).toBe(1500);
  expect(v.study!.etaMs).toBeCloseTo(2500, 6);
  const live = liveLines(v, 120, c);
  expect(live[0]).toContain("run 2/4 · one-head · seed 231");
  expect(live[0]).toContain("study ETA 0:03");
  expect(live[1]).toBe("model ViT one-head");
  expect(live.some((l) => l.includes(" 50/100"))).toBe(true); // the run's own bar is still there
  const fixed = staticLines(v, c, 120);
  expect(fixed[0]).toBe("xt ablate attention · 4 runs · 400 steps · cpu");
  expect(fixed[1]).toContain("run 1/4  full");
  expect(fixed[1]).toContain("test acc 0.7000");
  expect(fixed.length).toBe(2);
});

test("the study's end archives the last run and shows the whole study done", () => {
  const st = new DashboardState();
  st.apply(start(position(1, 0, 0, "full", 231)));
  st.apply(step(100, 1000));
  st.apply({ type: "end", command: "ablate attention", steps: 100, elapsedMs: 1000, variants: [], interrupted: true });
  const v = st.view();
  expect(v.finishedRuns.length).toBe(1);
  const live = liveLines(v, 100, c);
  expect(live[0]).toContain("1/4 runs");
  expect(live.at(-1)).toContain("interrupted");
  const f = render(<Dashboard view={v} columns={100} c={c} />);
  expect(f.lastFrame()).toContain("xt ablate attention · 4 runs");
});

test("plain lines name the run of the study", () => {
  expect(plainLine(start(position(3, 0, 0, "no-scale", 0)), 10, c)).toStartWith("run 3/4 (no-scale, seed 0) ablate attention: ViT no-scale");
});

test("a single run (no study) is drawn as before: no study line", () => {
  const st = new DashboardState();
  st.apply({ type: "start", command: "train vit", model: "ViT", params: 1, device: "cpu", dataset: "d", totalSteps: 10 });
  st.apply(step(5, 50));
  const v = st.view();
  expect(v.study).toBeUndefined();
  expect(liveLines(v, 100, c)[0]).toContain("5/10");
});
