/**
 * Model-level parity of the CUDA backend with the CPU backend: the same seeded VisionTransformer,
 * CaptioningTransformer, SmallCNN and hybrid ViT (small configs, dropout on in train mode; core draws dropout masks on
 * the host, so both devices use the same masks) run forward, cross-entropy, backward and Adam
 * steps once on each backend; outputs, losses, every parameter gradient and every updated
 * parameter must agree to 1e-4. Every op case of fixtures/ops/ops.json (broadcasts, strided views,
 * int32 indices, bool masks, reductions, matmul, ...) runs on CUDA in float32 against PyTorch's
 * values and, in float32 and float64, forward and backward against the CPU backend. Then the
 * notebook's seven checks (`xt check all`) must pass on CUDA.
 *
 * Where it runs:
 *   - CUDA usable (a GPU, or XT_CUDA_DRIVER pointing at the emulator): the tests run here.
 *   - No CUDA, but the addon and emu/build/libcuda_emu.so are built: one test reruns this file in a
 *     child process with XT_CUDA_DRIVER=emu/build/libcuda_emu.so (the driver is chosen once per
 *     process) and asserts that everything passed there.
 *   - Otherwise: skipped, with the reason printed.
 * The CPU backend is the current backend again when the tests finish.
 */
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import type { Backend } from "../../core/backend.ts";
import { CpuBackend } from "../cpu/index.ts";
import { CHECKS, runChecks } from "../../checks/index.ts";
import { currentBackend, setBackend } from "../../core/device.ts";
import { CaptioningTransformer, crossEntropy, fromArray, manualSeed, randint, randn, SmallCNN, VisionTransformer } from "../../core/index.ts";
import type { Module } from "../../core/nn/module.ts";
import { Adam, type AdamOptions } from "../../core/optim/adam.ts";
import type { Tensor } from "../../core/tensor.ts";
import { splitCaptions, temporalSoftmaxLoss } from "../../core/train/captioning_solver.ts";
import ops from "../../fixtures/ops/ops.json";
import { decode, fixtureTensor, NON_DIFFERENTIABLE, OPS, type FixtureTensor, type OpCase } from "../../tests/op_table.ts";
import { CUDA_ADDON_FILE } from "../native_platform.ts";
import { createCudaBackend, probeCuda } from "./index.ts";

const here = import.meta.dir;
const emulator = join(here, "emu/build/libcuda_emu.so");
const probe = probeCuda();
const canSpawnEmulator =
  !probe.ok && !process.env.XT_CUDA_DRIVER && existsSync(emulator) && existsSync(join(here, CUDA_ADDON_FILE));
const mode: "here" | "emulator" | "skip" = probe.ok ? "here" : canSpawnEmulator ? "emulator" : "skip";

if (mode === "here") console.log(`[model parity] device: ${probe.ok ? probe.device : ""}`);
if (mode === "emulator") console.log(`[model parity] no CUDA here (${probe.ok ? "" : probe.reason}); running on the CPU emulator`);
if (mode === "skip") {
  const noEmu = process.env.XT_CUDA_DRIVER
    ? "XT_CUDA_DRIVER is set, so the emulator is not tried"
    : "no built emulator (run scripts/build-native.sh; the emulator needs g++)";
  console.log(`[model parity] skipped: no usable CUDA (${probe.ok ? "" : probe.reason}) and ${noEmu}`);
}

const TOL = 1e-4;
/**
 * Adam's eps for the model runs. Adam divides by √v + eps, so a gradient element near zero turns a
 * rounding difference δ between the devices into an update difference of up to lr·δ/eps: with the
 * default 1e-8, a sign flip of a 1e-9 gradient moves a parameter by 2·lr. 1e-6 bounds that
 * amplification without changing the code path (cuda_parity.test.ts covers the default eps).
 */
const ADAM_EPS = 1e-6;

// ---- in a child process on the emulator -----------------------------------------------------------

// Registered only where it runs: in the child (mode "here") it would show up as a skip.
if (mode !== "here") test.skipIf(mode !== "emulator")("model parity and the notebook checks pass on the CPU emulator of the driver", () => {
  const r = Bun.spawnSync([process.execPath, "test", "--timeout", "300000", "backends/cuda/model_parity.test.ts"], {
    cwd: join(here, "../.."),
    env: { ...process.env, XT_CUDA_DRIVER: emulator },
    stdout: "pipe",
    stderr: "pipe",
    timeout: 540_000,
  });
  const out = r.stdout.toString() + r.stderr.toString();
  if (r.exitCode !== 0) console.log(out);
  for (const line of out.split("\n")) if (line.startsWith("[model parity]")) console.log(`  ${line}`);
  expect(r.exitCode).toBe(0);
  expect(out).toContain("device: xt CPU emulator");
  expect(out).toMatch(/\n\s*0 fail/);
  expect(out).not.toMatch(/\n\s*\d+ skip/);
  expect(Number(out.match(/\n\s*(\d+) pass/)?.[1] ?? 0)).toBeGreaterThanOrEqual(5);
}, 600_000);

// ---- on CUDA, in this process ---------------------------------------------------------------------

/** What one training run leaves behind, copied to the host. */
interface Trace {
  /** label → values, in the order they were produced. */
  values: Map<string, number[]>;
}

function record(t: Trace, label: string, x: Tensor | number[] | number): void {
  t.values.set(label, typeof x === "number" ? [x] : Array.isArray(x) ? x : x.toArray());
}

function recordGradsAndParams(t: Trace, step: number, model: Module, what: "grad" | "param"): void {
  for (const [name, p] of model.namedParameters()) {
    if (what === "grad") {
      if (!p.grad) throw new Error(`step ${step}: ${name} has no gradient`);
      record(t, `step ${step} grad ${name}`, p.grad);
    } else {
      record(t, `step ${step} param ${name}`, p);
    }
  }
}

/** Runs `build` then `steps` training steps on `backend`, recording everything along the way. */
function trace(backend: Backend, steps: number, build: () => { model: Module; lossAt: (step: number, t: Trace) => Tensor }, adam: AdamOptions): Trace {
  const prev = currentBackend();
  setBackend(backend);
  try {
    const t: Trace = { values: new Map() };
    const { model, lossAt } = build();
    model.train();
    recordGradsAndParams(t, 0, model, "param");
    const opt = new Adam(model.parameters(), adam);
    for (let s = 1; s <= steps; s++) {
      opt.zeroGrad();
      const loss = lossAt(s, t);
      record(t, `step ${s} loss`, loss);
      loss.backward();
      recordGradsAndParams(t, s, model, "grad");
      opt.step();
      recordGradsAndParams(t, s, model, "param");
    }
    return t;
  } finally {
    setBackend(prev);
  }
}

interface Worst {
  label: string;
  index: number;
  got: number;
  want: number;
  err: number;
}

/** Compares two traces label by label: |got − want| ≤ TOL·(1 + |want|). Returns the worst element. */
function compareTraces(cuda: Trace, cpu: Trace): { worst: Worst; failures: string[]; compared: number } {
  const failures: string[] = [];
  let worst: Worst = { label: "", index: -1, got: 0, want: 0, err: 0 };
  let compared = 0;
  expect([...cuda.values.keys()]).toEqual([...cpu.values.keys()]);
  for (const [label, want] of cpu.values) {
    const got = cuda.values.get(label)!;
    if (got.length !== want.length) {
      failures.push(`${label}: ${got.length} values on CUDA, ${want.length} on the CPU`);
      continue;
    }
    let bad = 0;
    for (let i = 0; i < want.length; i++) {
      const g = got[i]!, w = want[i]!;
      compared++;
      const err = Number.isNaN(g) || Number.isNaN(w) ? (Number.isNaN(g) && Number.isNaN(w) ? 0 : Infinity) : Math.abs(g - w) / (1 + Math.abs(w));
      if (err > worst.err) worst = { label, index: i, got: g, want: w, err };
      if (!(err <= TOL) && bad++ < 3) failures.push(`${label}[${i}]: CUDA ${g}, CPU ${w}`);
    }
  }
  return { worst, failures, compared };
}

/** A fixed pseudo-random upstream gradient, so that every output element matters. */
function upstream(n: number): number[] {
  let s = 7;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  });
}

/** Why an op's output differs from PyTorch's (tests/ops.test.ts's tolerance), or null. */
function opMismatch(got: { shape: number[]; dtype: string; values: number[] }, want: FixtureTensor): string | null {
  if (got.shape.join() !== want.shape.join()) return `shape [${got.shape}] vs PyTorch [${want.shape}]`;
  const exact = want.dtype === "bool" || want.dtype.startsWith("int");
  if ((got.dtype === "bool" || got.dtype === "int32") !== exact) return `dtype ${got.dtype} vs PyTorch ${want.dtype}`;
  const w = decode(want.values);
  for (let i = 0; i < w.length; i++) {
    const a = got.values[i]!, b = w[i]!;
    if (Number.isNaN(b)) {
      if (!Number.isNaN(a)) return `[${i}]: ${a}, PyTorch NaN`;
    } else if (exact || !Number.isFinite(b)) {
      if (a !== b) return `[${i}]: ${a}, PyTorch ${b}`;
    } else if (!(Math.abs(a - b) <= 1e-6 + 1e-5 * Math.abs(b))) {
      return `[${i}]: ${a}, PyTorch ${b}`;
    }
  }
  return null;
}

function expectParity(name: string, cuda: Trace, cpu: Trace): void {
  const { worst, failures, compared } = compareTraces(cuda, cpu);
  console.log(
    `[model parity] ${name}: ${cuda.values.size} arrays, ${compared} values; worst ${worst.err.toExponential(2)} at ` +
      `${worst.label}[${worst.index}] (CUDA ${worst.got}, CPU ${worst.want})`,
  );
  if (failures.length) throw new Error(`${name}: CUDA and CPU differ beyond ${TOL}:\n  ${failures.slice(0, 20).join("\n  ")}`);
}

// Registered only where CUDA is usable (elsewhere the test above runs or shows the skip).
if (mode === "here") describe("CUDA vs the CPU backend and PyTorch", () => {
  const cpu = new CpuBackend();
  let cuda: Backend;
  const original = currentBackend();
  afterAll(() => {
    setBackend(original);
    expect(currentBackend()).toBe(original);
  });

  function cudaBackend(): Backend {
    // Built lazily, so that a CUDA failure shows up in a test rather than at import.
    cuda ??= createCudaBackend();
    return cuda;
  }

  test("VisionTransformer: forward, cross-entropy, backward and Adam steps (dropout 0.1, weight decay)", () => {
    const build = () => {
      manualSeed(231);
      const model = new VisionTransformer(16, 4, 3, 24, 2, 2, 48, 10, 0.1);
      const lossAt = (step: number, t: Trace): Tensor => {
        const images = randn([6, 3, 16, 16]);
        const labels = randint(0, 10, [6]);
        const scores = model.forward(images);
        record(t, `step ${step} scores`, scores);
        return crossEntropy(scores, labels);
      };
      return { model, lossAt };
    };
    const adam = { lr: 1e-3, weightDecay: 1e-4, eps: ADAM_EPS };
    expectParity("VisionTransformer", trace(cudaBackend(), 2, build, adam), trace(cpu, 2, build, adam));
  }, 300_000);

  test("SmallCNN and the hybrid ViT (conv stem): forward, label-smoothed cross-entropy, backward and Adam steps", () => {
    const build = (hybrid: boolean) => () => {
      manualSeed(5);
      const model = hybrid ? new VisionTransformer(12, 4, 2, 16, 1, 2, 32, 10, 0.1, 4) : new SmallCNN(12, 2, 4, 6, 10);
      const lossAt = (step: number, t: Trace): Tensor => {
        const images = randn([5, 2, 12, 12]);
        const labels = randint(0, 10, [5]);
        const scores = model.forward(images);
        record(t, `step ${step} scores`, scores);
        return crossEntropy(scores, labels, "mean", 0.1);
      };
      return { model, lossAt };
    };
    const adam = { lr: 1e-3, weightDecay: 1e-4, eps: ADAM_EPS };
    expectParity("SmallCNN", trace(cudaBackend(), 2, build(false), adam), trace(cpu, 2, build(false), adam));
    expectParity("hybrid ViT", trace(cudaBackend(), 2, build(true), adam), trace(cpu, 2, build(true), adam));
  }, 300_000);

  test("CaptioningTransformer: forward, masked temporal loss, backward, Adam steps, greedy sampling", () => {
    const words = ["<NULL>", "<START>", "<END>", "a", "cat", "dog", "on", "the", "mat", "sat", "big", "red", "<UNK>"];
    const wordToIdx = Object.fromEntries(words.map((w, i) => [w, i]));
    const N = 3, T = 6, D = 20, W = 24;
    const build = () => {
      manualSeed(7);
      const model = new CaptioningTransformer(wordToIdx, D, W, 2, 2, 16);
      const lossAt = (step: number, t: Trace): Tensor => {
        const features = randn([N, D]);
        // <START> first, then words; the tail of some captions is <NULL> padding (masked out).
        const body = randint(3, words.length, [N, T]).toArray();
        for (let i = 0; i < N; i++) {
          body[i * T] = 1;
          const len = 3 + ((i + step) % (T - 3));
          body[i * T + len] = 2;
          for (let j = len + 1; j < T; j++) body[i * T + j] = 0;
        }
        const { captionsIn, captionsOut, mask } = splitCaptions(Int32Array.from(body), N, T, 0);
        const logits = model.forward(features, fromArray(captionsIn, [N, T - 1], "int32"));
        record(t, `step ${step} scores`, logits);
        const loss = temporalSoftmaxLoss(logits, captionsOut, mask);
        if (step === 2) {
          model.eval();
          record(t, `step ${step} sample`, model.sample(features, 6));
          model.train();
        }
        return loss;
      };
      return { model, lossAt };
    };
    const adam = { lr: 1e-3, weightDecay: 0, eps: ADAM_EPS };
    expectParity("CaptioningTransformer", trace(cudaBackend(), 2, build, adam), trace(cpu, 2, build, adam));
  }, 300_000);

  test("every op of fixtures/ops/ops.json on CUDA: float32 forward matches PyTorch; float32 and float64 forward and gradients match the CPU", () => {
    const failures: string[] = [];
    const counts = { pytorch: 0, cpu32: 0, cpu64: 0, grads: 0 };
    /** Values that agree: equal (infinities too), both NaN, or within tol·(1 + |want|). */
    const close = (g: number, w: number, tol: number) =>
      g === w || (Number.isNaN(g) && Number.isNaN(w)) || Math.abs(g - w) <= tol * (1 + Math.abs(w));
    const compare = (what: string, got: number[], want: number[], tol: number) => {
      if (got.length !== want.length) return void failures.push(`${what}: ${got.length} values on CUDA, ${want.length} on the CPU`);
      const i = want.findIndex((w, k) => !close(got[k]!, w, tol));
      if (i >= 0) failures.push(`${what}[${i}]: CUDA ${got[i]}, CPU ${want[i]}`);
    };
    for (const c of (ops as { cases: OpCase[] }).cases) {
      const want = c.outputs ?? [c.output!];
      const floatInputs = c.inputs.map((t, i) => (t.dtype.startsWith("float") ? i : -1)).filter((i) => i >= 0);
      const differentiable = !NON_DIFFERENTIABLE.has(c.op) && floatInputs.length > 0 &&
        want.every((o) => decode(o.values).every((v) => Number.isFinite(v)));
      for (const dtype of ["float32", "float64"] as const) {
        const tol = dtype === "float32" ? TOL : 1e-9;
        /** The outputs, and when differentiable the inputs' gradients for a fixed upstream gradient. */
        const run = (be: Backend) => {
          setBackend(be);
          try {
            const inputs = c.inputs.map((t) => fixtureTensor(t, dtype));
            if (differentiable) for (const i of floatInputs) inputs[i]!.requiresGrad_();
            const out = OPS[c.op]!(inputs, c.args);
            const outs = Array.isArray(out) ? out : [out];
            const values = outs.map((o) => ({ shape: [...o.shape], dtype: o.dtype as string, values: o.toArray() }));
            let grads: number[][] = [];
            if (differentiable) {
              const o = outs[0]!;
              o.mul(fromArray(upstream(o.numel), o.shape, dtype)).sum().backward();
              grads = floatInputs.map((i) => inputs[i]!.grad?.toArray() ?? []);
            }
            return { values, grads };
          } finally {
            setBackend(original);
          }
        };
        const id = `${c.id} (${c.op}, ${dtype})`;
        let got: ReturnType<typeof run>;
        try {
          got = run(cudaBackend());
        } catch (e) {
          failures.push(`${id}: threw on CUDA: ${e instanceof Error ? e.message : String(e)}`);
          continue;
        }
        if (dtype === "float32") {
          counts.pytorch++;
          got.values.forEach((o, k) => {
            const bad = opMismatch(o, want[k]!);
            if (bad) failures.push(`${id} output ${k} vs PyTorch: ${bad}`);
          });
        }
        const ref = run(cpu);
        dtype === "float32" ? counts.cpu32++ : counts.cpu64++;
        ref.values.forEach((o, k) => {
          const g = got.values[k]!;
          if (g.dtype !== o.dtype || g.shape.join() !== o.shape.join()) {
            failures.push(`${id} output ${k}: ${g.dtype} [${g.shape}] on CUDA, ${o.dtype} [${o.shape}] on the CPU`);
          } else compare(`${id} output ${k}`, g.values, o.values, tol);
        });
        if (differentiable) counts.grads++;
        ref.grads.forEach((w, k) => compare(`${id} grad of input ${floatInputs[k]}`, got.grads[k]!, w, tol));
      }
    }
    console.log(
      `[model parity] ops: ${counts.pytorch} float32 cases against PyTorch, ${counts.cpu32} float32 and ${counts.cpu64} ` +
        `float64 cases against the CPU (${counts.grads} with gradients); ${failures.length} failures`,
    );
    if (failures.length) throw new Error(`ops on CUDA:\n  ${failures.slice(0, 30).join("\n  ")}`);
  }, 300_000);

  test("the notebook's seven checks pass on CUDA (xt check all)", () => {
    setBackend(cudaBackend());
    try {
      const results = runChecks(CHECKS);
      for (const r of results) {
        const outs = r.outputs.map((o) => `${o.name} rel ${o.relError?.toExponential(2)} ≤ ${o.threshold}`).join(", ");
        console.log(`[model parity] check ${r.name}: ${r.pass ? "pass" : "FAIL"} (${outs}; ${r.ms.toFixed(0)} ms)`);
      }
      expect(results.map((r) => r.name)).toEqual(CHECKS.map((c) => c.name));
      expect(results.filter((r) => !r.pass).map((r) => r.name)).toEqual([]);
    } finally {
      setBackend(original);
    }
  }, 300_000);

  test("the CPU backend is current again", () => {
    expect(currentBackend()).toBe(original);
    expect(currentBackend().name).toBe("cpu");
  });
});
