/** Checkpoints: the three files, the names a checkpoint answers to, save ids, the first format. */
import { afterAll, describe, expect, test } from "bun:test";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { gunzipSync } from "node:zlib";
import { Linear } from "../nn/linear.ts";
import { Adam } from "../optim/adam.ts";
import { fromArray } from "../ops/creation.ts";
import { sum } from "../ops/reduce.ts";
import { manualSeed, NumpyRandomState, TorchGenerator } from "../random/index.ts";
import { CHECKPOINT_FORMAT, checkpointPaths, loadCheckpoint, saveCheckpoint, type TrainingState } from "./checkpoint.ts";
import { decodeSafetensors } from "./safetensors.ts";

const REPO = resolve(import.meta.dir, "../..");
const TMP = mkdtempSync(join(tmpdir(), "xt-checkpoint-test-"));
afterAll(() => rmSync(TMP, { recursive: true, force: true }));

/** A Linear(3, 2) after two Adam steps, with both RNG states and a long array. */
function trained(): { model: Linear; training: TrainingState } {
  manualSeed(3);
  const model = new Linear(3, 2);
  const opt = new Adam(model.parameters(), { lr: 0.1 });
  for (let i = 0; i < 2; i++) {
    opt.zeroGrad();
    sum(model.forward(fromArray([1, 2, 3], [1, 3]))).backward();
    opt.step();
  }
  const torch = new TorchGenerator({ seed: 5 });
  torch.normalDouble(0, 1); // leaves a cached normal and a moved position
  const numpy = new NumpyRandomState(7);
  numpy.randn(1);
  return {
    model,
    training: {
      optimizer: opt.stateDict(),
      rng: { torch: torch.getState(), numpy: numpy.getState() },
      arrays: { loss_history: { dtype: "F64", shape: [3], data: Float64Array.from([0.5, 0.25, 1 / 3]) } },
    },
  };
}

describe("three files", () => {
  test("weights alone in FILE.safetensors, tensors of the training state in FILE.optim.safetensors, a small sidecar", () => {
    const { model, training } = trained();
    const p = saveCheckpoint(join(TMP, "a"), model, { kind: "test", config: { n: 1 }, step: 2 }, training);
    expect(p).toEqual({ stem: join(TMP, "a"), weights: join(TMP, "a.safetensors"), sidecar: join(TMP, "a.json"), state: join(TMP, "a.optim.safetensors") });
    const w = decodeSafetensors(p.weights, new Uint8Array(readFileSync(p.weights)));
    expect([...w.tensors.keys()].sort()).toEqual(["bias", "weight"]);
    expect(w.metadata.format).toBe("pt");
    const s = decodeSafetensors(p.state, new Uint8Array(readFileSync(p.state)));
    expect([...s.tensors.keys()].sort()).toEqual([
      "optimizer.state.0.exp_avg", "optimizer.state.0.exp_avg_sq", "optimizer.state.1.exp_avg", "optimizer.state.1.exp_avg_sq",
      "rng.numpy.key", "rng.torch.key", "run.loss_history",
    ]);
    const side = JSON.parse(readFileSync(p.sidecar, "utf8"));
    expect(side.format).toBe(CHECKPOINT_FORMAT);
    expect(side.training.optimizer).toEqual({ type: "adam", lr: 0.1, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 0, steps: [2, 2] });
    expect(JSON.stringify(side)).not.toMatch(/expAvg|"key"/); // no tensor data in the JSON
    expect(statSync(p.sidecar).size).toBeLessThan(2000);
  });

  test("round trip: weights, Adam moments, both RNG states (cached normals included) and arrays come back exactly", () => {
    const { model, training } = trained();
    saveCheckpoint(join(TMP, "b"), model, { kind: "test", config: {}, step: 2, epoch: 1, extra: { x: [1, 2] } }, training);
    const ck = loadCheckpoint(join(TMP, "b"), { training: true });
    expect(ck.resumable).toBe(true);
    expect(ck.meta).toMatchObject({ kind: "test", step: 2, epoch: 1, extra: { x: [1, 2] } });
    expect(ck.weights.get("weight")!.toArray()).toEqual(model.weight.toArray());
    const t = ck.training!;
    expect(t.rng).toEqual(training.rng);
    expect(t.optimizer.lr).toBe(0.1);
    t.optimizer.state.forEach((s, i) => {
      const want = training.optimizer.state[i]!;
      expect(s.step).toBe(want.step);
      expect([...s.expAvg]).toEqual([...want.expAvg]);
      expect([...s.expAvgSq]).toEqual([...want.expAvgSq]);
    });
    expect([...t.arrays.loss_history!.data]).toEqual([0.5, 0.25, 1 / 3]);
    // Continuing both generators from the restored states draws what the originals draw.
    const a = new TorchGenerator();
    a.setState(t.rng.torch!);
    const b = new TorchGenerator();
    b.setState(training.rng.torch!);
    expect([a.normalDouble(0, 1), a.random(), a.random()]).toEqual([b.normalDouble(0, 1), b.random(), b.random()]);
  });

  test("a model-only checkpoint has no state file and says it cannot be resumed", () => {
    const { model } = trained();
    const p = saveCheckpoint(join(TMP, "m"), model, { kind: "test", config: {}, step: 0 });
    expect(existsSync(p.state)).toBe(false);
    const ck = loadCheckpoint(p.weights, { training: true });
    expect(ck.resumable).toBe(false);
    expect(ck.training).toBeNull();
  });
});

describe("the names a checkpoint answers to", () => {
  const { model, training } = trained();
  const dir = join(TMP, "names");
  mkdirSync(dir);
  saveCheckpoint(join(dir, "cap"), model, { kind: "test", config: {}, step: 1 }, training);

  test("the stem, the .safetensors path, the .json sidecar and the state file all name it", () => {
    for (const p of ["cap", "cap.safetensors", "cap.json", "cap.optim.safetensors"]) {
      expect(checkpointPaths(join(dir, p)).stem).toBe(join(dir, "cap"));
      expect(loadCheckpoint(join(dir, p)).meta.step).toBe(1);
    }
  });

  test("a run folder names its best model, or its last state when asked (--resume)", () => {
    const run = join(TMP, "run");
    saveCheckpoint(join(run, "last"), model, { kind: "test", config: {}, step: 9 }, training);
    expect(checkpointPaths(run).stem).toBe(join(run, "last")); // no best yet
    saveCheckpoint(join(run, "best"), model, { kind: "test", config: {}, step: 4 });
    expect(loadCheckpoint(run).meta.step).toBe(4);
    expect(loadCheckpoint(run, { prefer: "last" }).meta.step).toBe(9);
    expect(() => checkpointPaths(TMP + "/names")).toThrow(/no best.json or last.json/);
  });

  test("the first format's extension-less weights file (`--save cap` wrote `cap` and `cap.json`)", () => {
    const old = join(TMP, "old");
    mkdirSync(old);
    cpSync(join(dir, "cap.safetensors"), join(old, "cap"));
    cpSync(join(dir, "cap.json"), join(old, "cap.json"));
    expect(checkpointPaths(join(old, "cap")).weights).toBe(join(old, "cap"));
    expect(loadCheckpoint(join(old, "cap")).weights.size).toBe(2);
  });

  test("missing files and other kinds are clear errors", () => {
    expect(() => loadCheckpoint(join(dir, "none"))).toThrow(/none\.safetensors: checkpoint file not found/);
    cpSync(join(dir, "cap.safetensors"), join(dir, "lone.safetensors"));
    expect(() => loadCheckpoint(join(dir, "lone"))).toThrow(/lone\.json: checkpoint sidecar not found/);
    expect(() => loadCheckpoint(join(dir, "cap"), { kind: "vit", kindName: "ViT" })).toThrow(/is a "test" checkpoint, not a ViT one/);
    cpSync(join(dir, "cap.safetensors"), join(dir, "nostate.safetensors"));
    cpSync(join(dir, "cap.json"), join(dir, "nostate.json"));
    expect(() => loadCheckpoint(join(dir, "nostate"), { training: true })).toThrow(/nostate\.optim\.safetensors: training state not found/);
    expect(loadCheckpoint(join(dir, "nostate"), { training: "if-present" }).training).toBeNull();
  });

  test("files from two different saves are not mixed", () => {
    const mix = join(TMP, "mix");
    saveCheckpoint(mix, model, { kind: "test", config: {}, step: 1 }, training);
    const firstState = readFileSync(`${mix}.optim.safetensors`);
    saveCheckpoint(mix, model, { kind: "test", config: {}, step: 2 }, training);
    writeFileSync(`${mix}.optim.safetensors`, firstState); // a stale state file beside a newer sidecar
    expect(() => loadCheckpoint(mix, { training: true })).toThrow(/mix\.optim\.safetensors: comes from another save than its sidecar/);
    expect(loadCheckpoint(mix).meta.step).toBe(2); // the model alone is still fine
  });
});

describe("the first format (xt-checkpoint/1)", () => {
  const dir = join(TMP, "format1");
  mkdirSync(dir);
  for (const f of ["captioning.json", "captioning.safetensors", "vit.json", "vit.safetensors"]) {
    writeFileSync(join(dir, f), gunzipSync(readFileSync(join(REPO, "fixtures/checkpoints/format1", `${f}.gz`))));
  }

  test("a captioning checkpoint loads with its training state from the base64 moments", () => {
    const ck = loadCheckpoint(join(dir, "captioning.safetensors"), { training: true });
    expect(JSON.parse(readFileSync(join(dir, "captioning.json"), "utf8")).format).toBe("xt-checkpoint/1");
    expect(ck.resumable).toBe(true);
    expect(ck.meta.kind).toBe("captioning");
    const t = ck.training!;
    expect(t.optimizer.state.length).toBe(ck.weights.size - 1); // every parameter (positional_encoding.pe is a buffer)
    expect(t.optimizer.state.every((s) => s.step === 2 && s.expAvg instanceof Float32Array && s.expAvg.length > 0)).toBe(true);
    expect(t.rng.torch!.mt.key.length).toBe(624);
    expect(t.rng.numpy!.key.length).toBe(624);
  });

  test("a ViT checkpoint of that format loads as a model", () => {
    const ck = loadCheckpoint(join(dir, "vit"));
    expect(ck.meta.kind).toBe("vit");
    expect(ck.weights.get("head.weight")!.shape).toEqual([10, 4]);
  });
});
