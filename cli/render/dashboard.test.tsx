/** The live dashboard, driven through a run's events with ink-testing-library. */
import { afterEach, describe, expect, test } from "bun:test";
import { Chalk } from "chalk";
import { cleanup, render } from "ink-testing-library";
import type { TrainEvent } from "../../core/train/events.ts";
import { Dashboard, fit, fmtDuration, fmtRate, progressBar } from "./dashboard.tsx";
import { DashboardState } from "./dashboard/state.ts";
import { STOP_NOTICE } from "./interrupt.ts";

const plain = new Chalk({ level: 0 });
const colour = new Chalk({ level: 1 });
const ESC = "\u001b";

afterEach(() => cleanup());

const start: TrainEvent = {
  type: "start",
  command: "vit train",
  model: "ViT (patch 4, dim 64, depth 2)",
  params: 1_234_567,
  device: "cpu",
  dataset: "CIFAR-10 (fixtures)",
  totalSteps: 100,
  epochs: 2,
  batchSize: 64,
  lr: 1e-3,
};

/** Step s of a run at 10 steps a second, 64 images a step, loss falling from 2.3. */
const step = (s: number, extra: Partial<Extract<TrainEvent, { type: "step" }>> = {}): TrainEvent => ({
  type: "step",
  step: s,
  totalSteps: 100,
  epoch: s <= 50 ? 1 : 2,
  loss: 2.3 - s * 0.01,
  lr: 1e-3,
  examples: 64,
  accuracy: 0.1 + s * 0.002,
  elapsedMs: s * 100,
  ...extra,
});

function frameAfter(events: TrainEvent[], c = plain, columns = 100): { frame: string; state: DashboardState } {
  const state = new DashboardState();
  const ui = render(<Dashboard view={state.view()} columns={columns} c={c} />);
  for (const e of events) {
    state.apply(e);
    ui.rerender(<Dashboard view={state.view()} columns={columns} c={c} />);
  }
  return { frame: ui.lastFrame() ?? "", state };
}

describe("dashboard frame", () => {
  test("header, bar, ETA, throughput, sparkline, loss, accuracy, lr, elapsed", () => {
    const events = [start, ...Array.from({ length: 40 }, (_, i) => step(i + 1))];
    const { frame } = frameAfter(events);
    const lines = frame.split("\n");
    // Header: command, model, parameter count; device, data set, steps.
    expect(lines[0]).toBe("xt vit train · 1,234,567 params · cpu");
    expect(lines[1]).toBe("model ViT (patch 4, dim 64, depth 2)");
    expect(lines[2]).toBe("data CIFAR-10 (fixtures) · 100 steps · 2 epochs · batch 64");
    // Progress bar 40% full, step/total, ETA (60 steps at 10/s = 0:06), epoch.
    const bar = lines.find((l) => l.includes(" 40/100"))!;
    expect(bar).toContain("░");
    expect(bar).toMatch(/^█+[▏▎▍▌▋▊▉]?░+ {2}40\/100 {2}40% {2}ETA 0:06 {2}epoch 1\/2$/);
    const filled = [...bar].filter((ch) => ch === "█").length;
    const cells = [...bar.split(" ")[0]!].length;
    expect(filled / cells).toBeCloseTo(0.4, 1);
    // Throughput: 10 steps/s, 640 images/s; elapsed 4 s; lr.
    expect(frame).toContain("10.0 steps/s · 640 images/s");
    expect(frame).toContain("elapsed 0:04");
    expect(frame).toContain("lr 1.00e-3");
    // Loss sparkline: falling, so it starts high and ends low; current and lowest loss.
    const loss = lines.find((l) => l.startsWith("loss "))!;
    const spark = loss.slice(6).split(" ")[0]!;
    expect(spark.length).toBe(40);
    expect(spark[0]).toBe("█");
    expect(spark.at(-1)).toBe("▁");
    expect(loss).toContain("1.9000 now · 1.9000 min");
    // Accuracy of the last batch.
    expect(frame).toContain("acc   0.1800 train batch");
    // No escape codes with colour off.
    expect(frame).not.toContain(ESC);
  });

  test("epoch summaries become static lines above the live area; test accuracy shown", () => {
    const events: TrainEvent[] = [start, ...Array.from({ length: 50 }, (_, i) => step(i + 1))];
    events.push({ type: "epoch", epoch: 1, epochs: 2, trainLoss: 1.8, trainAcc: 0.2, testLoss: 1.9, testAcc: 0.31, elapsedMs: 5200 });
    events.push(step(51), step(52));
    const { frame } = frameAfter(events);
    const lines = frame.split("\n");
    expect(lines[3]).toBe("epoch 1/2  train loss 1.8000  train acc 0.2000  test loss 1.9000  test acc 0.3100  5.2s");
    expect(lines.findIndex((l) => l.includes(" 52/100"))).toBeGreaterThan(3);
    expect(frame).toContain("0.3100 test · 0.3100 best");
    expect(frame).toContain("epoch 2/2");
  });

  test("tokens/s and captions/s for captioning runs; no accuracy line without accuracy", () => {
    const cap: TrainEvent = { ...start, command: "captioning train", model: "CaptioningTransformer", totalSteps: 10 } as TrainEvent;
    const events: TrainEvent[] = [cap];
    for (let s = 1; s <= 5; s++)
      events.push({ type: "step", step: s, totalSteps: 10, loss: 5 - s, lr: 1e-3, examples: 25, tokens: 400, elapsedMs: s * 50 });
    const { frame } = frameAfter(events);
    expect(frame).toContain("20.0 steps/s · 500 captions/s · 8,000 tokens/s");
    expect(frame).not.toContain("acc ");
    expect(frame).toContain("ETA 0:00");
  });

  test("the Ctrl-C notice, then the end summary", () => {
    const state = new DashboardState();
    const ui = render(<Dashboard view={state.view()} columns={100} c={plain} />);
    for (const e of [start, step(1), step(2)]) state.apply(e);
    state.setNotice(STOP_NOTICE);
    ui.rerender(<Dashboard view={state.view()} columns={100} c={plain} />);
    expect(ui.lastFrame()).toContain(STOP_NOTICE);
    state.apply({ type: "end", steps: 2, elapsedMs: 200, loss: 2.28, interrupted: true, checkpoint: "runs/x.ckpt" });
    ui.rerender(<Dashboard view={state.view()} columns={100} c={plain} />);
    const frame = ui.lastFrame()!;
    expect(frame).not.toContain(STOP_NOTICE);
    expect(frame).not.toContain("ETA");
    expect(frame.split("\n").at(-1)).toBe("interrupted  2 steps in 0.2s  last batch loss 2.2800  checkpoint runs/x.ckpt");
  });

  test("narrow terminal: live lines are cut to the width, ending in …", () => {
    const events = [start, ...Array.from({ length: 30 }, (_, i) => step(i + 1))];
    const live = frameAfter(events, plain, 40).frame.split("\n").slice(3);
    for (const l of live) expect(l.length).toBeLessThanOrEqual(40);
    expect(live.find((l) => l.includes("30/100"))!.startsWith("█")).toBe(true);
    expect(live.some((l) => l.endsWith("…"))).toBe(true);
    const wide = frameAfter(events, colour, 200).frame;
    expect(wide.split("\n").find((l) => l.includes("30/100"))).toContain("█".repeat(15));
  });

  test("narrow terminal: the header and epoch lines are cut with … too (docs/output-modes.md)", () => {
    const long: TrainEvent = {
      ...start,
      model: "VisionTransformer(img 28, patch 7, C 1, D 128, layers 6, heads 4, ffn 256, classes 10, dropout 0)",
      dataset: "fashion-mnist (60000 train / 10000 test images, /usr/share/datasets/fashion-mnist)",
    } as TrainEvent;
    const epoch: TrainEvent = { type: "epoch", epoch: 1, epochs: 2, trainLoss: 1.8, trainAcc: 0.2, testLoss: 1.9, testAcc: 0.31, elapsedMs: 5200 };
    const lines = frameAfter([long, step(1), epoch, step(51)], plain, 60).frame.split("\n");
    for (const l of lines.slice(0, 4)) expect(l.length).toBeLessThanOrEqual(60);
    expect(lines[1]).toStartWith("model VisionTransformer(img 28");
    expect(lines[1]).toEndWith("…");
    expect(lines[2]).toEndWith("…");
    expect(lines[3]).toStartWith("epoch 1/2  train loss 1.8000");
    expect(lines[3]).toEndWith("…");
    // At the full width (100 here) a line one character too long is cut, not wrapped onto the next.
    const full = frameAfter([long, step(1)], plain, 100).frame.split("\n");
    expect(full[1]).toBe(`model ${(long as { model: string }).model}`.slice(0, 99) + "…");
    expect(full[2]).toStartWith("data fashion-mnist");
  });

  test("a test pass shows its own progress bar until the epoch's summary", () => {
    const ev = (batch: number, done: number): TrainEvent => ({ type: "eval", split: "test", batch, done, total: 1000, epoch: 1, elapsedMs: 5000 + batch });
    const during = frameAfter([start, ...Array.from({ length: 50 }, (_, i) => step(i + 1)), ev(1, 250), ev(2, 500)]).frame;
    const bar = during.split("\n").find((l) => l.startsWith("testing "))!;
    expect(bar).toMatch(/^testing █+░+ 500\/1,000 test images$/);
    const after = frameAfter([start, step(1), ev(1, 250),
      { type: "epoch", epoch: 1, epochs: 2, trainLoss: 1.8, testLoss: 1.9, testAcc: 0.31, elapsedMs: 5200 }]).frame;
    expect(after).not.toContain("testing ");
  });

  test("colour on: escape codes appear", () => {
    const { frame } = frameAfter([start, step(1), step(2)], colour);
    expect(frame).toContain(ESC + "[");
  });

  test("a diverged (NaN) loss does not break the frame", () => {
    const { frame } = frameAfter([start, step(1), step(2, { loss: NaN }), step(3)]);
    expect(frame).toContain("loss  █ ▁  2.2700 now · 2.2700 min");
    const diverged = frameAfter([start, step(1), step(2, { loss: NaN })]).frame;
    expect(diverged).toContain("nan now · 2.2900 min");
  });
});

describe("formatting", () => {
  test("fit: cut to the width with …, styles kept on what is left", () => {
    const red = (t: string) => `<${t}>`;
    expect(fit([["abc", red], ["def"]], 10)).toBe("<abc>def");
    expect(fit([["abc", red], ["def"]], 6)).toBe("<abc>def");
    expect(fit([["abc", red], ["def"]], 5)).toBe("<abc>d…");
    expect(fit([["abc", red], ["def"]], 3)).toBe("<ab>…");
    expect(fit([["abc"]], 0)).toBe("");
  });
  test("durations", () => {
    expect(fmtDuration(0)).toBe("0:00");
    expect(fmtDuration(7_400)).toBe("0:07");
    expect(fmtDuration(205_000)).toBe("3:25");
    expect(fmtDuration(3_723_000)).toBe("1:02:03");
    expect(fmtDuration(NaN)).toBe("--:--");
  });
  test("rates", () => {
    expect(fmtRate(0.1234)).toBe("0.123");
    expect(fmtRate(3.456)).toBe("3.46");
    expect(fmtRate(12.34)).toBe("12.3");
    expect(fmtRate(640)).toBe("640");
    expect(fmtRate(12_345.6)).toBe("12,346");
  });
  test("bar widths are exact, with eighths", () => {
    for (const f of [0, 0.01, 0.33, 0.5, 0.999, 1]) expect([...progressBar(f, 20, plain)].length).toBe(20);
    expect(progressBar(0.5, 10, plain)).toBe("█████░░░░░");
    expect(progressBar(0.05, 10, plain)).toBe("▌░░░░░░░░░");
    expect(progressBar(0.0125, 10, plain)).toBe("▏░░░░░░░░░");
    expect(progressBar(1, 4, plain)).toBe("████");
  });
});
