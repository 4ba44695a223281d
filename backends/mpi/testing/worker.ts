/**
 * Run by backends/mpi/mpi_ranks.test.ts as every rank of `mpirun -np N bun worker.ts SCENARIO`.
 * Each rank prints one JSON line `{"rank": r, ...}` with what it saw; the test compares them.
 */
import "../../register.ts";
import { writeSync } from "node:fs";
import { allreduceNumbers, broadcastJson, broadcastTensors, GradientAllReducer, openCollective } from "../../../core/distributed/index.ts";
import { crossEntropy } from "../../../core/ops/loss.ts";
import { fromArray } from "../../../core/ops/creation.ts";
import { gelu } from "../../../core/ops/elementwise.ts";
import { Linear, Module } from "../../../core/nn/index.ts";
import { Adam } from "../../../core/optim/adam.ts";
import { manualSeed, TorchGenerator } from "../../../core/random/index.ts";
import type { Tensor } from "../../../core/tensor.ts";
import { registerMpi } from "../index.ts";
import { currentBackend, useDevice } from "../../../core/device.ts";
import type { DeviceCollective } from "../../../core/distributed/index.ts";

registerMpi();
const scenario = process.argv[2];
const c = openCollective();
const out: Record<string, unknown> = { rank: c.rank, size: c.size, description: c.description };

class Mlp extends Module {
  readonly l1 = this.child("l1", new Linear(8, 32));
  readonly l2 = this.child("l2", new Linear(32, 32));
  readonly l3 = this.child("l3", new Linear(32, 4));
  forward(x: Tensor): Tensor {
    return this.l3.forward(gelu(this.l2.forward(gelu(this.l1.forward(x)))));
  }
}

/** The global batch of `step`: 8·size inputs and labels, the same on every rank. */
function globalBatch(step: number, n: number): { x: Float32Array; y: Int32Array } {
  const g = new TorchGenerator({ seed: 1000 + step });
  const x = new Float32Array(n * 8);
  g.fillUniform(x, -1, 1);
  const y = Int32Array.from({ length: n }, () => g.random() % 4);
  return { x, y };
}

function shard(b: { x: Float32Array; y: Int32Array }, rank: number, size: number): { x: Tensor; y: Tensor } {
  const n = b.y.length / size;
  const x = new Float32Array(n * 8);
  const y = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    x.set(b.x.subarray((rank + i * size) * 8, (rank + i * size + 1) * 8), i * 8);
    y[i] = b.y[rank + i * size]!;
  }
  return { x: fromArray(x, [n, 8]), y: fromArray(y, [n], "int32") };
}

const maxAbsDiff = (a: ArrayLike<number>, b: ArrayLike<number>): number => {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
};

if (scenario === "collectives") {
  const f32 = Float32Array.from({ length: 1000 }, (_, i) => i * (c.rank + 1));
  c.allreduceSum(f32);
  const f64 = new Float64Array([0.1 * (c.rank + 1), 1e300 / c.size]);
  const pending = c.startAllreduceSum(f64);
  while (!pending.test()) { /* drive progress */ }
  pending.wait();
  const bytes = new Uint8Array(5).fill(c.rank === 1 ? 7 : 0);
  c.broadcast(bytes, 1);
  c.barrier();
  out.f32 = [f32[0], f32[1], f32[999]];
  out.f64 = Array.from(f64);
  out.bytes = Array.from(bytes);
  out.numbers = allreduceNumbers(c, [c.rank, 1]);
  out.json = broadcastJson(c, c.rank === 0 ? { hello: "from 0", n: [1, 2] } : null);
} else if (scenario === "reducer" || scenario === "reducer-device") {
  // reducer-device: every tensor on the CUDA backend (the emulator here) and the all-reduce done by
  // the NCCL binding on device pointers (XT_NCCL_LIBRARY: a stand-in that reduces over MPI).
  let device: DeviceCollective | undefined;
  if (scenario === "reducer-device") {
    useDevice("cuda");
    const { NcclCollective } = await import("../../nccl/nccl.ts");
    device = NcclCollective.open(c);
    out.backend = currentBackend().name;
  }
  // Every rank starts from different weights; broadcast makes them rank 0's.
  manualSeed(c.rank === 0 ? 3 : 50 + c.rank);
  const model = new Mlp();
  broadcastTensors(model.parameters(), c);
  manualSeed(3);
  const reference = new Mlp(); // rank 0's weights, trained on the whole global batch in one process
  out.sameStart = model.parameters().every((p, i) => maxAbsDiff(p.data(), reference.parameters()[i]!.data()) === 0);
  const reducer = new GradientAllReducer(model.parameters(), c, { firstBucketBytes: 64, bucketBytes: 2048, device }).attach();
  out.path = reducer.path;
  const opt = new Adam(model.parameters(), { lr: 1e-2 });
  const refOpt = new Adam(reference.parameters(), { lr: 1e-2 });
  let worstGrad = 0;
  let worstLoss = 0;
  const started: number[] = [];
  for (let step = 0; step < 4; step++) {
    const b = globalBatch(step, 8 * c.size);
    const mine = shard(b, c.rank, c.size);
    opt.zeroGrad();
    const loss = crossEntropy(model.forward(mine.x), mine.y);
    loss.backward();
    reducer.finish();
    started.push(reducer.lastTiming.startedInBackward);
    const [lossSum] = allreduceNumbers(c, [loss.item()]);
    opt.step();
    const all = shard(b, 0, 1);
    refOpt.zeroGrad();
    const refLoss = crossEntropy(reference.forward(all.x), all.y);
    refLoss.backward();
    worstLoss = Math.max(worstLoss, Math.abs(lossSum! / c.size - refLoss.item()));
    model.parameters().forEach((p, i) => {
      worstGrad = Math.max(worstGrad, maxAbsDiff(p.grad!.data(), reference.parameters()[i]!.grad!.data()));
    });
    refOpt.step();
  }
  out.buckets = reducer.buckets.length;
  out.startedInBackward = started;
  out.worstGrad = worstGrad;
  out.worstLoss = worstLoss;
  out.worstParam = Math.max(...model.parameters().map((p, i) => maxAbsDiff(p.data(), reference.parameters()[i]!.data())));
  // The ranks hold bit-identical weights: compare with rank 0's.
  const mineBytes = model.parameters().map((p) => Array.from(p.data()));
  out.identical = JSON.stringify(broadcastJson(c, c.rank === 0 ? mineBytes : null)) === JSON.stringify(mineBytes);
} else if (scenario === "abort") {
  // Rank 1 fails; rank 0 is already waiting in an all-reduce that rank 1 never joins.
  if (c.rank === 1) {
    writeSync(2, "worker: rank 1 fails on purpose\n"); // synchronous: MPI_Abort comes next
    c.abort(3);
  }
  c.allreduceSum(new Float32Array(4));
  out.unreachable = true;
} else {
  throw new Error(`unknown scenario ${scenario}`);
}
console.log(JSON.stringify(out));
c.finalize();
