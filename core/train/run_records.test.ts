/** The files `xt plot` reads: run folders, results JSON, event logs, ablations (hand-made here). */
import { afterAll, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readRunRecord, runLabel } from "./run_records.ts";

const TMP = mkdtempSync(join(tmpdir(), "xt-run-records-"));
afterAll(() => rmSync(TMP, { recursive: true, force: true }));
const file = (name: string, text: string): string => {
  const p = join(TMP, name);
  writeFileSync(p, text);
  return p;
};

test("a results JSON (train vit) gives one point per epoch", () => {
  const p = file("vit.results.json", JSON.stringify({
    "train_loss": [2.1, 1.5], "train_acc@1": [0.3, 0.5], "test_loss": [1.9, 1.4], "test_acc@1": [0.35, 0.55],
    "best_test_acc": 0.55, "epoch_seconds": [10, 11],
  }));
  const r = readRunRecord(p);
  expect(r).toEqual({
    kind: "curves", file: p, steps: [],
    epochs: [
      { epoch: 1, trainLoss: 2.1, trainAcc: 0.3, testLoss: 1.9, testAcc: 0.35 },
      { epoch: 2, trainLoss: 1.5, trainAcc: 0.5, testLoss: 1.4, testAcc: 0.55 },
    ],
  });
  expect(runLabel(p)).toBe("vit");
});

test("a --json event log gives steps and epochs, with the start event's command and data", () => {
  const lines = [
    { type: "start", command: "train vit", model: "ViT", params: 1, device: "cpu", dataset: "fashion-mnist", totalSteps: 2 },
    { type: "step", step: 1, totalSteps: 2, epoch: 1, loss: 2.3, lr: 1e-3, examples: 64, accuracy: 0.1, elapsedMs: 5 },
    { type: "step", step: 2, totalSteps: 2, epoch: 1, loss: 2.0, lr: 1e-3, examples: 64, elapsedMs: 9 },
    { type: "epoch", epoch: 1, epochs: 1, trainLoss: 2.1, valLoss: 2.2, elapsedMs: 10 },
    { type: "end", steps: 2, elapsedMs: 11, loss: 2.0 },
  ];
  const r = readRunRecord(file("run.jsonl", lines.map((l) => JSON.stringify(l)).join("\n") + "\n"));
  expect(r).toMatchObject({
    kind: "curves", command: "train vit", dataset: "fashion-mnist",
    steps: [{ step: 1, loss: 2.3, accuracy: 0.1 }, { step: 2, loss: 2.0 }],
    epochs: [{ epoch: 1, trainLoss: 2.1, valLoss: 2.2 }],
  });
});

test("captioning's results JSON: its loss_history per iteration, train and validation loss per epoch", () => {
  const p = file("cap.results.json", JSON.stringify({
    train_loss: [3, 2], val_loss: [], best_val_loss: null, loss_history: [3.5, 2.5, 2.2, 1.8], iterations_per_epoch: 2,
  }));
  expect(readRunRecord(p)).toEqual({
    kind: "curves", file: p,
    steps: [{ step: 1, loss: 3.5 }, { step: 2, loss: 2.5 }, { step: 3, loss: 2.2 }, { step: 4, loss: 1.8 }],
    epochs: [{ epoch: 1, trainLoss: 3 }, { epoch: 2, trainLoss: 2 }],
  });
  expect(runLabel(p)).toBe("cap");
  expect(() => readRunRecord(file("none.results.json", JSON.stringify({ train_loss: [], loss_history: [] })))).toThrow(/none\.results\.json: no finished epoch yet/);
});

test("a resumed run's appended log: a step or epoch logged twice counts once, the later", () => {
  const lines = [
    { type: "start", command: "train vit", dataset: "mnist" },
    { type: "step", step: 1, loss: 2.3 },
    { type: "step", step: 2, loss: 2.2 },
    { type: "step", step: 3, loss: 2.1 }, // logged after the last save, then the process was killed
    { type: "start", command: "train vit", dataset: "mnist", resumedAt: 2 },
    { type: "step", step: 3, loss: 2.05 },
    { type: "epoch", epoch: 1, trainLoss: 2.2 },
    { type: "epoch", epoch: 1, trainLoss: 2.15 },
  ];
  const r = readRunRecord(file("resumed.events.jsonl", lines.map((l) => JSON.stringify(l)).join("\n")));
  expect(r).toMatchObject({
    command: "train vit", dataset: "mnist",
    steps: [{ step: 1, loss: 2.3 }, { step: 2, loss: 2.2 }, { step: 3, loss: 2.05 }],
    epochs: [{ epoch: 1, trainLoss: 2.15 }],
  });
  expect(runLabel(join(TMP, "resumed.events.jsonl"))).toBe("resumed");
});

test("a run folder: its events.jsonl, else (none, or still empty) its results.json; labelled by the folder", () => {
  const dir = join(TMP, "runs", "train-vit-mnist-2");
  mkdirSync(dir, { recursive: true });
  expect(() => readRunRecord(dir)).toThrow(/train-vit-mnist-2: a folder without events\.jsonl or results\.json \(not a run folder\)/);
  writeFileSync(join(dir, "results.json"), JSON.stringify({ "train_loss": [1.2], "test_acc@1": [0.6] }));
  expect(readRunRecord(dir)).toMatchObject({ file: join(dir, "results.json"), steps: [], epochs: [{ epoch: 1, trainLoss: 1.2, testAcc: 0.6 }] });
  writeFileSync(join(dir, "events.jsonl"), "");
  expect(readRunRecord(`${dir}/`).file).toBe(join(dir, "results.json"));
  writeFileSync(join(dir, "events.jsonl"), JSON.stringify({ type: "step", step: 1, loss: 1.3, accuracy: 0.5 }) + "\n");
  expect(readRunRecord(dir)).toMatchObject({ file: join(dir, "events.jsonl"), steps: [{ step: 1, loss: 1.3, accuracy: 0.5 }] });
  for (const p of [dir, `${dir}/`, join(dir, "events.jsonl"), join(dir, "results.json")]) expect(runLabel(p)).toBe("train-vit-mnist-2");
});

const variants = [
  { name: "baseline", params: { dropout: 0 }, seeds: [1, 2, 3], metrics: { "test_acc@1": { mean: 0.83, std: 0.004 }, test_loss: { mean: 0.47, std: 0.01 } } },
  { name: "dropout 0.1", params: { dropout: 0.1 }, seeds: 3, metrics: { "test_acc@1": { mean: 0.81, std: 0.006 }, test_loss: { mean: 0.52, std: 0.02 } } },
];

test("an ablation: the end event alone, or the last line of its event log", () => {
  const alone = readRunRecord(file("ablation.json", JSON.stringify({ type: "end", steps: 0, elapsedMs: 1, variants })));
  expect(alone).toMatchObject({ kind: "ablation", variants: [{ name: "baseline", seeds: [1, 2, 3] }, { name: "dropout 0.1", seeds: 3 }] });
  if (alone.kind !== "ablation") throw new Error("not an ablation");
  expect(alone.variants[1]!.metrics["test_acc@1"]).toEqual({ mean: 0.81, std: 0.006 });
  const log = [
    JSON.stringify({ type: "start", command: "ablate vit", model: "ViT", params: 1, device: "cpu", dataset: "fashion-mnist", totalSteps: 6 }),
    JSON.stringify({ type: "step", step: 1, totalSteps: 6, loss: 2, lr: 1, examples: 1, elapsedMs: 1 }),
    JSON.stringify({ type: "end", steps: 6, elapsedMs: 1, variants }),
  ].join("\n");
  expect(readRunRecord(file("ablation.jsonl", log))).toMatchObject({ kind: "ablation", command: "ablate vit", dataset: "fashion-mnist" });
});

test("clear errors naming the file (and line)", () => {
  expect(() => readRunRecord(join(TMP, "missing.json"))).toThrow(/missing\.json: file not found/);
  expect(() => readRunRecord(file("other.json", JSON.stringify({ hello: 1 })))).toThrow(/other\.json: not a results JSON/);
  expect(() => readRunRecord(file("bad.jsonl", '{"type":"step","step":1,"loss":1}\nnot json\n'))).toThrow(/bad\.jsonl:2: not a JSON line/);
  expect(() => readRunRecord(file("empty.jsonl", "\n"))).toThrow(/empty/);
  expect(() => readRunRecord(file("nosteps.jsonl", '{"type":"start"}\n{"type":"end"}\n'))).toThrow(/no step or epoch events/);
  const broken = [{ name: "x", params: {}, seeds: 1, metrics: { acc: { mean: "high" } } }];
  expect(() => readRunRecord(file("broken.json", JSON.stringify({ type: "end", variants: broken })))).toThrow(/variants\[0\]\.metrics\.acc: expected \{mean, std\}/);
});
