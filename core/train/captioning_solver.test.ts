/** The captioning solver: reference semantics, PyTorch Adam parity, resume, checkpoints. */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { gunzipSync } from "node:zlib";
import { cocoSplitFromArrays, type CocoData } from "../data/coco.ts";
import { sidecarPath } from "../io/checkpoint.ts";
import { CaptioningTransformer } from "../models/captioning_transformer.ts";
import { fromArray } from "../ops/creation.ts";
import { defaultGenerator, manualSeed, NumpyRandomState } from "../random/index.ts";
import {
  readCaptioningCheckpoint, modelFromCheckpoint, resumeCaptioningRun, saveCaptioningCheckpoint, startCaptioningRun,
  type CaptioningRunOptions,
} from "./captioning_run.ts";
import {
  CaptioningSolver, evaluateCaptioningLoss, sameSubsample, splitCaptions, subsampleRecord, temporalSoftmaxLoss,
} from "./captioning_solver.ts";
import type { TrainEvent } from "./events.ts";

const REPO = resolve(import.meta.dir, "../..");
const COCO_MINI = join(REPO, "fixtures", "coco-mini");
const TMP = mkdtempSync(join(tmpdir(), "xt-captioning-test-"));
afterAll(() => rmSync(TMP, { recursive: true, force: true }));

/** A tiny in-memory COCO split: n captions of length T over a 6-word vocabulary. */
function fakeData(n: number, T = 5, D = 4): CocoData {
  const idxToWord = ["<NULL>", "<START>", "<END>", "<UNK>", "cat", "dog"];
  const wordToIdx = Object.fromEntries(idxToWord.map((w, i) => [w, i]));
  const captions = new Int32Array(n * T);
  for (let i = 0; i < n; i++) {
    const row = [1, 4 + (i % 2), 4 + ((i >> 1) % 2), 2, 0].slice(0, T);
    captions.set(row, i * T);
  }
  const imageIdxs = Int32Array.from({ length: n }, (_, i) => i % 3);
  const features = Float32Array.from({ length: 3 * D }, (_, i) => Math.sin(i));
  const split = cocoSplitFromArrays(captions, T, imageIdxs, features, D, ["u0", "u1", "u2"]);
  return {
    train: split, val: split, captionLength: T, featureDim: D, idxToWord, wordToIdx,
    pcaFeatures: true, source: "fake", trainSubsample: null,
  };
}

function tinyModel(data: CocoData): CaptioningTransformer {
  manualSeed(0);
  return new CaptioningTransformer(data.wordToIdx, data.featureDim, 4, 2, 1, 8);
}

describe("reference semantics", () => {
  test("splitCaptions: in = [:, :-1], out = [:, 1:], mask = out != <NULL>", () => {
    const caps = Int32Array.from([1, 4, 5, 2, 0, 1, 5, 2, 0, 0]);
    const s = splitCaptions(caps, 2, 5, 0);
    expect([...s.captionsIn]).toEqual([1, 4, 5, 2, 1, 5, 2, 0]);
    expect([...s.captionsOut]).toEqual([4, 5, 2, 0, 5, 2, 0, 0]);
    expect([...s.mask]).toEqual([1, 1, 1, 0, 1, 1, 0, 0]);
    expect(s.tokens).toBe(5);
  });

  test("the loss is the masked token losses averaged over all N·T entries", () => {
    const N = 2, T = 3, V = 4;
    const logits = Array.from({ length: N * T * V }, (_, i) => Math.fround(Math.cos(i * 1.7) * 2));
    const out = Int32Array.from([1, 2, 0, 3, 0, 0]);
    const mask = Float32Array.from([1, 1, 0, 1, 0, 0]);
    const loss = temporalSoftmaxLoss(fromArray(logits, [N, T, V]), out, mask).item();
    let sum = 0;
    for (let r = 0; r < N * T; r++) {
      const row = logits.slice(r * V, (r + 1) * V);
      const mx = Math.max(...row);
      const lse = mx + Math.log(row.reduce((a, x) => a + Math.exp(x - mx), 0));
      sum += mask[r]! * (lse - row[out[r]!]!);
    }
    expect(loss).toBeCloseTo(sum / (N * T), 5); // ÷ N·T = 6 ...
    expect(Math.abs(loss - sum / 3)).toBeGreaterThan(0.1); // ... not ÷ the 3 unmasked entries
  });

  test("iterations = epochs × max(num_train // batch_size, 1); one loss per iteration", async () => {
    const data = fakeData(50);
    const np = new NumpyRandomState(231);
    const s = new CaptioningSolver(tinyModel(data), data, { batchSize: 25, numEpochs: 3, learningRate: 1e-3, np });
    expect(s.iterationsPerEpoch).toBe(2);
    expect(s.numIterations).toBe(6);
    const big = new CaptioningSolver(tinyModel(data), data, { batchSize: 100, numEpochs: 3, learningRate: 1e-3, np });
    expect(big.numIterations).toBe(3); // 50 // 100 = 0 → 1 per epoch
    const events: TrainEvent[] = [];
    const r = await s.train({ sink: (e) => events.push(e) });
    expect(r.lossHistory.length).toBe(6);
    expect(events.map((e) => e.type)).toEqual(["start", "step", "step", "epoch", "step", "step", "epoch", "step", "step", "epoch", "end"]);
    const end = events[events.length - 1]!;
    expect(end.type === "end" && end.loss).toBe(r.lossHistory[5]!);
    const ep = events[3]!;
    expect(ep.type === "epoch" && ep.trainLoss).toBeCloseTo((r.lossHistory[0]! + r.lossHistory[1]!) / 2, 12);
  });

  test("a bad batch size is an XtError", () => {
    const data = fakeData(10);
    const np = new NumpyRandomState(0);
    expect(() => new CaptioningSolver(tinyModel(data), data, { batchSize: 0, numEpochs: 1, learningRate: 1e-3, np })).toThrow(/batch size/);
  });

  test("the validation loss runs in eval mode without RNG draws", () => {
    const data = fakeData(12);
    const model = tinyModel(data);
    const before = manualSeed(5).getState();
    const a = evaluateCaptioningLoss(model, data.val, data.captionLength, data.featureDim, 10, 4);
    const b = evaluateCaptioningLoss(model, data.val, data.captionLength, data.featureDim, 10, 3);
    expect(a).toBeCloseTo(b, 5);
    expect(model.training).toBe(true);
    expect(defaultGenerator.getState()).toEqual(before);
  });
});

interface ParamFixture { shape: number[]; numel: number; sum: number; values: number[]; indices?: number[] }
interface AdamFixture {
  config: { seed: number; maxTrain: number; batchSize: number; lr: number; steps: number; wordvecDim: number; numHeads: number; numLayers: number; maxLength: number };
  trainSubsample: number[];
  losses: number[];
  params: Record<string, ParamFixture>;
}

test("first 3 Adam steps match PyTorch within 1e-5 (losses and parameters)", async () => {
  const fx: AdamFixture = JSON.parse(readFileSync(join(REPO, "fixtures/captioning/adam_3_steps.json"), "utf8"));
  const c = fx.config;
  const r = await startCaptioningRun({
    command: "test", dataDir: COCO_MINI, seed: c.seed, maxTrain: c.maxTrain, pcaFeatures: true, wordvecDim: c.wordvecDim,
    numHeads: c.numHeads, numLayers: c.numLayers, maxLength: c.maxLength, epochs: 100, batchSize: c.batchSize, lr: c.lr,
  });
  expect(r.data.trainSubsample).toEqual(fx.trainSubsample);
  const losses = Array.from({ length: c.steps }, () => r.solver.step().loss);
  for (let i = 0; i < c.steps; i++) expect(Math.abs(losses[i]! - fx.losses[i]!)).toBeLessThan(1e-5);
  const sd = r.model.stateDict();
  let worst = 0;
  for (const [name, p] of Object.entries(fx.params)) {
    const t = sd.get(name);
    expect(t, name).toBeDefined();
    expect(t!.shape).toEqual(p.shape);
    const v = t!.data() as Float32Array;
    p.values.forEach((want, i) => {
      worst = Math.max(worst, Math.abs(v[p.indices ? p.indices[i]! : i]! - Math.fround(want)));
    });
    let s = 0;
    for (const x of v) s += x;
    expect(Math.abs(s - p.sum)).toBeLessThan(1e-5 * Math.max(1, p.numel / 1000));
  }
  expect(worst).toBeLessThan(1e-5);
}, 30_000);

const SMALL: CaptioningRunOptions = {
  command: "test", dataDir: COCO_MINI, seed: 231, maxTrain: 10, pcaFeatures: true, wordvecDim: 8, numHeads: 2,
  numLayers: 1, maxLength: 30, epochs: 2, batchSize: 5, lr: 1e-3,
};

describe("checkpoints", () => {
  test("a resumed run gives exactly the losses and weights of an uninterrupted one", async () => {
    const full = await startCaptioningRun(SMALL);
    await full.solver.train();
    expect(full.solver.lossHistory.length).toBe(4);

    const first = await startCaptioningRun(SMALL);
    const stop = new AbortController();
    const part = await first.solver.train({ signal: stop.signal, sink: (e) => e.type === "step" && e.step === 2 && stop.abort() });
    expect(part.interrupted).toBe(true);
    expect(part.iterations).toBe(2);
    const path = join(TMP, "resume.safetensors");
    saveCaptioningCheckpoint(path, first);
    manualSeed(999); // disturb the global generator: the checkpoint must restore it

    const resumed = await resumeCaptioningRun(path, "test");
    expect(resumed.solver.iteration).toBe(2);
    const events: TrainEvent[] = [];
    await resumed.solver.train({ sink: (e) => events.push(e) });
    expect(resumed.solver.lossHistory).toEqual(full.solver.lossHistory);
    expect(events.filter((e) => e.type === "step").map((e) => (e as { step: number }).step)).toEqual([3, 4]);
    const a = full.model.stateDict();
    for (const [k, t] of resumed.model.stateDict()) expect([...(t.data() as Float32Array)]).toEqual([...(a.get(k)!.data() as Float32Array)]);
  }, 30_000);

  test("resuming refuses a changed model flag", async () => {
    const r = await startCaptioningRun({ ...SMALL, epochs: 0 });
    const path = join(TMP, "flags.safetensors");
    saveCaptioningCheckpoint(path, r);
    await expect(resumeCaptioningRun(path, "test", { given: { wordvecDim: 16 } })).rejects.toThrow(/--wordvec-dim is 8/);
  });

  test("round trip: safetensors under PyTorch names, sidecar with config, vocab, optimizer, RNG, step", async () => {
    const r = await startCaptioningRun({ ...SMALL, epochs: 1 });
    await r.solver.train();
    const path = join(TMP, "rt.safetensors");
    saveCaptioningCheckpoint(path, r);
    expect(existsSync(sidecarPath(path))).toBe(true);

    // Parse our own file as any safetensors reader would: u64 LE header length, JSON header, raw LE data.
    const buf = new Uint8Array(readFileSync(path));
    const n = Number(new DataView(buf.buffer).getBigUint64(0, true));
    expect((8 + n) % 8).toBe(0);
    const header = JSON.parse(new TextDecoder().decode(buf.subarray(8, 8 + n)));
    expect(header.__metadata__.format).toBe("pt");
    const sd = r.model.stateDict();
    const names = Object.keys(header).filter((k) => k !== "__metadata__");
    expect(names.sort()).toEqual([...sd.keys()].sort());
    expect(names).toContain("transformer.layers.0.self_attn.key.weight");
    expect(names).toContain("transformer.layers.0.ffn.fc1.weight");
    expect(names).toContain("positional_encoding.pe");
    let end = 0;
    for (const name of names) {
      const e = header[name];
      expect(e.dtype).toBe("F32");
      expect(e.shape).toEqual(sd.get(name)!.shape);
      const [a, b] = e.data_offsets;
      end = Math.max(end, b);
      const vals = new Float32Array(buf.slice(8 + n + a, 8 + n + b).buffer);
      expect([...vals]).toEqual([...(sd.get(name)!.data() as Float32Array)]);
    }
    expect(8 + n + end).toBe(buf.length);

    const ck = readCaptioningCheckpoint(path, { training: true });
    expect(ck.config).toEqual({ inputDim: 512, wordvecDim: 8, numHeads: 2, numLayers: 1, maxLength: 30, vocabSize: r.data.idxToWord.length });
    expect(ck.vocab.idx_to_word).toEqual(r.data.idxToWord);
    expect(ck.meta.step).toBe(2);
    expect(ck.loaded.training!.optimizer.state.length).toBe(r.model.parameters().length);
    expect(sameSubsample(ck.run!.trainSubsample, r.data.trainSubsample)).toBe(true);
    expect(sameSubsample(ck.run!.trainSubsample, [...r.data.trainSubsample!].reverse())).toBe(false);
    const m2 = modelFromCheckpoint(ck, path).eval();
    r.model.eval();
    const feats = fromArray(r.data.val.features.gather([0, 1]), [2, 512]);
    expect(m2.sample(feats, 5).toArray()).toEqual(r.model.sample(feats, 5).toArray());
  }, 30_000);

  test("a checkpoint of another kind or without its sidecar is a clear error", async () => {
    const r = await startCaptioningRun({ ...SMALL, epochs: 0 });
    const path = join(TMP, "kind.safetensors");
    saveCaptioningCheckpoint(path, r);
    const side = sidecarPath(path);
    const meta = JSON.parse(readFileSync(side, "utf8"));
    await Bun.write(side, JSON.stringify({ ...meta, kind: "vit" }));
    expect(() => readCaptioningCheckpoint(path)).toThrow(/"vit" checkpoint, not a captioning one/);
    rmSync(side);
    expect(() => readCaptioningCheckpoint(path)).toThrow(/sidecar not found/);
  });
});

describe("lean checkpoints", () => {
  test("at the notebook's size (1,004 words, wordvec 256, 2 heads, 2 layers, PCA 512) the sidecar stays under 20 KB", async () => {
    // The real vocabulary has 1,004 words of ~6 letters; these are longer, to be safe.
    const words = ["<NULL>", "<START>", "<END>", "<UNK>", ...Array.from({ length: 1000 }, (_, i) => `wordy${String(i).padStart(4, "0")}`)];
    const wordToIdx = Object.fromEntries(words.map((w, i) => [w, i]));
    const T = 17;
    const n = 50;
    const captions = Int32Array.from({ length: n * T }, (_, k) => (k % T === 0 ? 1 : k % T === T - 1 ? 2 : 4 + ((k * 7919) % 1000)));
    const split = cocoSplitFromArrays(
      captions, T, Int32Array.from({ length: n }, (_, i) => i),
      Float32Array.from({ length: n * 512 }, (_, i) => Math.sin(i)), 512, Array.from({ length: n }, (_, i) => `u${i}`),
    );
    const data: CocoData = {
      train: split, val: split, captionLength: T, featureDim: 512, idxToWord: words, wordToIdx, pcaFeatures: true, source: "fake",
      trainSubsample: Array.from({ length: n }, (_, i) => i * 13),
    };
    manualSeed(231);
    const model = new CaptioningTransformer(wordToIdx, 512, 256, 2, 2, 30);
    const solver = new CaptioningSolver(model, data, { batchSize: 25, numEpochs: 1, learningRate: 1e-3, np: new NumpyRandomState(231) });
    await solver.train({ valLoss: () => 3.5 });
    const run = {
      command: "overfit captioning", seed: 231, maxTrain: 50, batchSize: 25, epochs: 100, lr: 1e-3, pcaFeatures: true,
      dataSource: "/data/coco_captioning", trainSubsample: subsampleRecord(data.trainSubsample), valCaptions: 1000,
    };
    const p = saveCaptioningCheckpoint(join(TMP, "notebook"), { solver, run });
    const side = readFileSync(p.sidecar, "utf8");
    expect(side.length).toBeLessThan(20_000);
    expect(side).not.toContain("lossHistory");
    expect(side).not.toContain("word_to_idx"); // idx_to_word inverted on load
    const ck = readCaptioningCheckpoint(p.weights, { training: true });
    expect(ck.vocab.word_to_idx["wordy0999"]).toBe(1003);
    expect([...ck.loaded.training!.arrays.loss_history!.data]).toEqual(solver.lossHistory);
    console.log(`notebook-size captioning checkpoint: sidecar ${side.length} B, weights ${statSync(p.weights).size} B, state ${statSync(p.state).size} B`);
  }, 60_000);

  test("a checkpoint of the first format (xt-checkpoint/1) resumes with the losses of an uninterrupted run", async () => {
    for (const f of ["captioning.json", "captioning.safetensors"]) {
      writeFileSync(join(TMP, `format1-${f}`), gunzipSync(readFileSync(join(REPO, "fixtures/checkpoints/format1", `${f}.gz`))));
    }
    // Written after 1 epoch (2 iterations) of: --wordvec-dim 2 --num-heads 1 --num-layers 1 --max-train 10 --batch-size 5, embedded data.
    const resumed = await resumeCaptioningRun(join(TMP, "format1-captioning.json"), "test", { epochs: 2 });
    expect(resumed.solver.iteration).toBe(2);
    await resumed.solver.train();
    const full = await startCaptioningRun({
      command: "test", dataDir: COCO_MINI, seed: 231, maxTrain: 10, pcaFeatures: true, wordvecDim: 2, numHeads: 1, numLayers: 1,
      maxLength: 30, epochs: 2, batchSize: 5, lr: 1e-3,
    });
    await full.solver.train();
    expect(resumed.solver.lossHistory).toEqual(full.solver.lossHistory);
    // Saved again, it is in the current format.
    const p = saveCaptioningCheckpoint(join(TMP, "format1-again"), resumed);
    expect(JSON.parse(readFileSync(p.sidecar, "utf8")).format).toBe("xt-checkpoint/2");
  }, 30_000);
});
