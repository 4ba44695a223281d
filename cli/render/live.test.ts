/** The dashboard's sink: O(1) per event, at most one frame per 100 ms of wall time. */
import { describe, expect, test } from "bun:test";
import type { TrainEvent } from "../../core/train/events.ts";
import { LiveDashboard, type FrameRenderer } from "./dashboard/live.ts";
import type { DashboardView } from "./dashboard/state.ts";

const start: TrainEvent = { type: "start", command: "vit train", model: "ViT", params: 10, device: "cpu", dataset: "d", totalSteps: 1000 };
const step = (s: number, ms: number): TrainEvent => ({ type: "step", step: s, totalSteps: 1000, loss: 1 / s, lr: 1e-3, examples: 8, elapsedMs: ms });

function counting(): FrameRenderer & { frames: DashboardView[]; done_: number } {
  const r = {
    frames: [] as DashboardView[],
    done_: 0,
    draw(v: DashboardView) {
      r.frames.push(v);
    },
    done() {
      r.done_++;
    },
  };
  return r;
}

describe("LiveDashboard throttle", () => {
  test("1000 steps over 2 s of wall time draw at most ~21 frames, the sink itself deciding", () => {
    let now = 0;
    const live = new LiveDashboard({ now: () => now, trailing: false });
    const r = counting();
    live.attach(r);
    live.sink(start);
    const before = r.frames.length;
    for (let s = 1; s <= 1000; s++) {
      now = s * 2; // 2 ms a step
      live.sink(step(s, now));
    }
    const frames = r.frames.length - before;
    expect(frames).toBeGreaterThanOrEqual(19);
    expect(frames).toBeLessThanOrEqual(21);
    // Consecutive frames are at least 100 ms apart.
    const steps = r.frames.slice(before).map((v) => v.step);
    for (let i = 1; i < steps.length; i++) expect(steps[i]! - steps[i - 1]!).toBeGreaterThanOrEqual(50);
  });

  test("start, epoch and end draw at once; close draws the last state and releases", () => {
    let now = 0;
    const live = new LiveDashboard({ now: () => now, trailing: false });
    const r = counting();
    live.attach(r);
    live.sink(start);
    live.sink(step(1, 1));
    const n = r.frames.length;
    now = 10;
    live.sink(step(2, 10)); // within 100 ms: no frame
    expect(r.frames.length).toBe(n);
    live.sink({ type: "epoch", epoch: 1, epochs: 1, trainLoss: 0.5, elapsedMs: 11 });
    expect(r.frames.length).toBe(n + 1);
    expect(r.frames.at(-1)!.step).toBe(2);
    now = 20;
    live.sink(step(3, 20));
    live.close();
    expect(r.frames.at(-1)!.step).toBe(3);
    expect(r.done_).toBe(1);
    live.close();
    live.sink(step(4, 30));
    expect(r.done_).toBe(1);
  });

  test("no frame when nothing changed; the notice draws at once", () => {
    let now = 0;
    const live = new LiveDashboard({ now: () => now, trailing: false });
    const r = counting();
    live.attach(r);
    const n = r.frames.length;
    live.draw();
    expect(r.frames.length).toBe(n);
    live.notify("stopping");
    expect(r.frames.at(-1)!.notice).toBe("stopping");
  });

  test("events before attach are kept and shown on the first frame", () => {
    const live = new LiveDashboard({ trailing: false });
    live.sink(start);
    for (let s = 1; s <= 5; s++) live.sink(step(s, s));
    const r = counting();
    live.attach(r);
    expect(r.frames.length).toBe(1);
    expect(r.frames[0]!.step).toBe(5);
    expect(r.frames[0]!.start?.model).toBe("ViT");
  });

  test("a trailing frame comes on a timer once the event loop is free", async () => {
    const live = new LiveDashboard({ minIntervalMs: 30 });
    const r = counting();
    live.attach(r);
    live.sink(start);
    live.sink(step(1, 1)); // within 30 ms of the start frame: throttled
    live.sink(step(2, 2));
    expect(r.frames.at(-1)!.step).toBe(0);
    await Bun.sleep(80);
    expect(r.frames.at(-1)!.step).toBe(2);
    live.close();
  });

  test("slow frames are spaced out: drawing takes at most 1% of the wall time, but ≥ 1 frame/s", () => {
    let now = 0;
    const live = new LiveDashboard({ now: () => now, trailing: false });
    const frameCost = { ms: 4 };
    const r = counting();
    const draw = r.draw;
    r.draw = (v) => {
      draw(v);
      now += frameCost.ms; // each frame takes 4 ms of (fake) wall time
    };
    live.attach(r);
    live.sink(start);
    for (let s = 1; s <= 5000; s++) {
      now += 2;
      live.sink(step(s, now));
    }
    // 4 ms frames → one every 400 ms: ~1% of the time.
    expect(live.gapMs).toBeCloseTo(400, 0);
    const drawing = r.frames.length * frameCost.ms;
    expect(drawing / now).toBeLessThan(0.0125);
    // Very slow frames: still one a second.
    frameCost.ms = 50;
    for (let s = 5001; s <= 10000; s++) {
      now += 2;
      live.sink(step(s, now));
    }
    expect(live.gapMs).toBe(1000);
  });

  test("the sink is cheap: 200k step events in well under a second (no renderer attached)", () => {
    const live = new LiveDashboard({ trailing: false });
    live.sink(start);
    const t = performance.now();
    for (let s = 1; s <= 200_000; s++) live.sink(step(s, s));
    const perEvent = ((performance.now() - t) / 200_000) * 1e6;
    expect(perEvent).toBeLessThan(5_000); // ns; measured ~500 ns
  });
});
