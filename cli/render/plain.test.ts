/** Plain lines (exact), JSON lines (parse back to the events), colour rules, and renderer choice. */
import { afterEach, beforeEach, describe, expect, test } from "bun:test";
import { EventEmitter } from "node:events";
import { Chalk } from "chalk";
import type { TrainEvent } from "../../core/train/events.ts";
import { resetStop, stopSignal } from "../../core/train/stop.ts";
import { fmtTime, jsonSink, plainLine, plainSink } from "./plain.ts";
import { createProgress, wantsDashboard } from "./progress.ts";
import { makeStyle } from "./style.ts";

const off = new Chalk({ level: 0 });
const ESC = "\u001b";

const run: TrainEvent[] = [
  { type: "start", command: "vit overfit", model: "ViT", params: 12345, device: "cpu", dataset: "cifar-mini", totalSteps: 25, epochs: 2, lr: 1e-3 },
  ...Array.from({ length: 25 }, (_, i): TrainEvent => ({
    type: "step",
    step: i + 1,
    totalSteps: 25,
    epoch: i < 12 ? 1 : 2,
    loss: 2 - i * 0.05,
    lr: 1e-3,
    examples: 16,
    accuracy: i < 12 ? undefined : 0.5,
    elapsedMs: (i + 1) * 200,
  })),
  { type: "eval", split: "test", batch: 1, done: 16, total: 20, epoch: 1, elapsedMs: 2500 },
  { type: "eval", split: "test", batch: 2, done: 20, total: 20, epoch: 1, elapsedMs: 2550 },
  { type: "epoch", epoch: 1, epochs: 2, trainLoss: 1.5, trainAcc: 0.25, testLoss: 1.75, testAcc: 0.2, elapsedMs: 2600 },
  { type: "epoch", epoch: 2, epochs: 2, trainLoss: 0.9, valLoss: 1.1, elapsedMs: 65_400 },
  { type: "end", steps: 25, elapsedMs: 65_500, loss: 0.8, accuracy: 0.5, best_test_acc: 0.2, checkpoint: "runs/vit.ckpt" },
];

function collect(): { out: string[]; write: (s: string) => void } {
  const out: string[] = [];
  return { out, write: (s) => void out.push(s) };
}

describe("plain renderer", () => {
  test("exact lines: start, step 1, every --print-every, the last step, epochs, end", () => {
    const { out, write } = collect();
    const sink = plainSink(write, 10, off);
    for (const e of run) sink(e);
    expect(out.join("")).toBe(
      [
        "vit overfit: ViT (12,345 parameters) on cpu, data cifar-mini, 25 steps",
        "step  1/25  loss 2.0000  lr 1.0e-3  5.00 steps/s  0.2s",
        "step 10/25  loss 1.5500  lr 1.0e-3  5.00 steps/s  2.0s",
        "step 20/25  loss 1.0500  acc 0.5000  lr 1.0e-3  5.00 steps/s  4.0s",
        "step 25/25  loss 0.8000  acc 0.5000  lr 1.0e-3  5.00 steps/s  5.0s",
        "testing on 20 test examples…",
        "epoch 1/2  train loss 1.5000  train acc 0.2500  test loss 1.7500  test acc 0.2000  2.6s",
        "epoch 2/2  train loss 0.9000  val loss 1.1000  1m5s",
        "done  25 steps in 1m6s  test loss 0.8000  test acc 0.5000  best test acc 0.2000  checkpoint runs/vit.ckpt",
        "",
      ].join("\n"),
    );
    // One write per line, each a whole line: no carriage returns, no escape codes.
    for (const s of out) {
      expect(s.endsWith("\n")).toBe(true);
      expect(s.slice(0, -1)).not.toContain("\n");
      expect(s).not.toContain("\r");
      expect(s).not.toContain(ESC);
    }
  });

  test("times", () => {
    expect(fmtTime(4_240)).toBe("4.2s");
    expect(fmtTime(59_940)).toBe("59.9s");
    expect(fmtTime(59_960)).toBe("1m0s");
    expect(fmtTime(119_600)).toBe("2m0s");
    expect(fmtTime(65_400)).toBe("1m5s");
    expect(fmtTime(7_384_000)).toBe("2h3m4s");
  });

  test("the end line names its loss: the last epoch's test loss, or the last training batch's", () => {
    expect(plainLine({ type: "end", steps: 40, elapsedMs: 1500, loss: 0.25, accuracy: 1 }, 10, off))
      .toBe("done  40 steps in 1.5s  last batch loss 0.2500  last batch acc 1.0000");
    expect(plainLine({ type: "end", steps: 40, elapsedMs: 1500, loss: 0.5, accuracy: 0.8, best_test_acc: 0.81 }, 10, off))
      .toBe("done  40 steps in 1.5s  test loss 0.5000  test acc 0.8000  best test acc 0.8100");
  });

  test("interrupted runs say so", () => {
    expect(plainLine({ type: "end", steps: 3, elapsedMs: 1500, interrupted: true }, 10, off)).toBe("interrupted  3 steps in 1.5s");
  });

  test("colour only on a terminal, and never with NO_COLOR or --no-color", () => {
    const tty = { isTTY: true } as NodeJS.WriteStream;
    const pipe = { isTTY: false } as NodeJS.WriteStream;
    const saved = process.env["NO_COLOR"];
    delete process.env["NO_COLOR"];
    try {
      const on = makeStyle(tty);
      if (on.level > 0) expect(plainLine(run[0]!, 10, on)).toContain(ESC); // chalk itself may see no colour support
      expect(plainLine(run[0]!, 10, makeStyle(pipe))).not.toContain(ESC);
      expect(plainLine(run[0]!, 10, makeStyle(tty, true))).not.toContain(ESC);
      process.env["NO_COLOR"] = "1";
      expect(plainLine(run[0]!, 10, makeStyle(tty))).not.toContain(ESC);
    } finally {
      if (saved === undefined) delete process.env["NO_COLOR"];
      else process.env["NO_COLOR"] = saved;
    }
  });
});

describe("--json", () => {
  test("one JSON object per line, the events exactly as emitted", () => {
    const { out, write } = collect();
    const sink = jsonSink(write);
    for (const e of run) sink(e);
    const text = out.join("");
    const lines = text.trimEnd().split("\n");
    expect(lines.length).toBe(run.length);
    expect(lines.map((l) => JSON.parse(l))).toEqual(JSON.parse(JSON.stringify(run)));
    expect(lines.map((l) => JSON.parse(l).type)).toEqual(["start", ...Array(25).fill("step"), "eval", "eval", "epoch", "epoch", "end"]);
  });
});

/** A stand-in for process.stdout. */
class FakeStream extends EventEmitter {
  chunks: string[] = [];
  constructor(
    readonly isTTY: boolean,
    readonly columns = 100,
    readonly rows = 40,
  ) {
    super();
  }
  write(s: string): boolean {
    this.chunks.push(s);
    return true;
  }
  get text(): string {
    return this.chunks.join("");
  }
}

describe("createProgress", () => {
  const savedCI = process.env["CI"];
  beforeEach(() => {
    delete process.env["CI"];
    resetStop();
  });
  afterEach(() => {
    if (savedCI !== undefined) process.env["CI"] = savedCI;
    resetStop(); // other test files share this process and its stop flag
  });

  test("renderer choice", () => {
    const tty = new FakeStream(true) as unknown as NodeJS.WriteStream;
    const pipe = new FakeStream(false) as unknown as NodeJS.WriteStream;
    expect(wantsDashboard({}, tty)).toBe(true);
    expect(wantsDashboard({ plain: true }, tty)).toBe(false);
    expect(wantsDashboard({ json: true }, tty)).toBe(false);
    expect(wantsDashboard({}, pipe)).toBe(false);
    process.env["CI"] = "true";
    expect(wantsDashboard({}, tty)).toBe(false);
  });

  test("not a terminal: plain lines; --json: JSON lines (even on a terminal); handler removed on close", () => {
    const listeners = process.listenerCount("SIGINT");
    const pipe = new FakeStream(false);
    const p = createProgress({ stdout: pipe as unknown as NodeJS.WriteStream, printEvery: 10 });
    expect(p.mode).toBe("plain");
    expect(process.listenerCount("SIGINT")).toBe(listeners + 1);
    for (const e of run) p.sink(e);
    p.close();
    expect(process.listenerCount("SIGINT")).toBe(listeners);
    expect(pipe.text.split("\n").length).toBe(10);
    expect(pipe.text).not.toContain(ESC);

    const tty = new FakeStream(true);
    const j = createProgress({ json: true, stdout: tty as unknown as NodeJS.WriteStream, interrupt: false });
    expect(j.mode).toBe("json");
    for (const e of run) j.sink(e);
    j.close();
    expect(tty.text.trimEnd().split("\n").map((l) => JSON.parse(l).type).length).toBe(run.length);
    expect(process.listenerCount("SIGINT")).toBe(listeners);
  });

  test("a terminal: the dashboard, drawn by ink, ends with the run's summary", async () => {
    const tty = new FakeStream(true, 100, 40);
    const p = createProgress({ stdout: tty as unknown as NodeJS.WriteStream, color: false });
    expect(p.mode).toBe("dashboard");
    await p.ready;
    for (const e of run) p.sink(e);
    p.close();
    const text = tty.text;
    expect(text).toContain("xt vit overfit · 12,345 params · cpu");
    expect(text).toContain("model ViT");
    expect(text).toContain("epoch 1/2  train loss 1.5000");
    expect(text).toContain("25/25 100%");
    expect(text).toContain("done  25 steps in 1m6s");
    expect(text).not.toMatch(/\u001b\[[0-9;]*m/); // no colour codes with color: false (cursor moves are fine)
  });

  test("a reader that went away (EPIPE): writes stop, the run is asked to stop, no crash", () => {
    const pipe = new FakeStream(false);
    let n = 0;
    pipe.write = (s: string) => {
      if (++n > 2) throw Object.assign(new Error("EPIPE: broken pipe, write"), { code: "EPIPE" });
      pipe.chunks.push(s);
      return true;
    };
    const errWrite = process.stderr.write;
    const errs: string[] = [];
    process.stderr.write = ((s: string) => errs.push(s) > 0) as typeof process.stderr.write;
    try {
      const p = createProgress({ json: true, stdout: pipe as unknown as NodeJS.WriteStream, interrupt: false });
      expect(stopSignal().aborted).toBe(false);
      for (const e of run) p.sink(e);
      p.close();
    } finally {
      process.stderr.write = errWrite;
    }
    expect(pipe.chunks.length).toBe(2);
    expect(n).toBe(3); // one failed write, then no more tries
    expect(stopSignal().aborted).toBe(true);
    expect(errs.join("")).toContain("broken pipe");
  });

  test("a terminal, but ink not up yet at close: the run's lines are written plain", () => {
    const tty = new FakeStream(true);
    const p = createProgress({ stdout: tty as unknown as NodeJS.WriteStream, color: false, interrupt: false });
    for (const e of run) p.sink(e); // synchronously: the lazy import has not resolved
    p.close();
    expect(tty.text).toContain("vit overfit: ViT (12,345 parameters)");
    expect(tty.text).toContain("epoch 2/2  train loss 0.9000");
    expect(tty.text.trimEnd().split("\n").at(-1)).toContain("done  25 steps");
  });
});
