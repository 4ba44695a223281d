/**
 * Data-parallel training on the one loop (core/train/loop.ts), as PyTorch's DDP does it:
 *
 *  - wrap(model): every rank takes rank 0's weights and buffers (one broadcast), and each
 *    parameter's gradient joins a bucket whose all-reduce starts as soon as backward() has
 *    produced all of the bucket's gradients (core/distributed/gradient_all_reducer.ts);
 *  - afterBackward (the loop's hook): wait for the buckets; every .grad is now the mean over ranks,
 *    so every rank takes the same optimizer step and the weights stay identical;
 *  - combineStep: the step's loss, correct count and examples summed over ranks, so that rank 0
 *    reports the global batch (Σ loss·examples / Σ examples is the loss of the whole batch: the
 *    loss of each rank is a mean over its own examples), and a stop asked on any rank (Ctrl-C)
 *    stops all of them at the same step;
 *  - shard(n): the contiguous slice of an evaluation set this rank scores (sums are then combined).
 *
 * `--batch-size` is per rank. With the DistributedSampler (core/data/distributed_sampler.ts) the
 * N shards of global batch k are batch k of one process with N times the batch, so N ranks and one
 * rank with the global batch follow the same trajectory (up to float rounding, dropout 0).
 */
import { broadcastTensors } from "../distributed/broadcast_tensors.ts";
import { allreduceNumbers, type Collective, type DeviceCollective } from "../distributed/collective.ts";
import { GradientAllReducer, type AllReduceTiming } from "../distributed/gradient_all_reducer.ts";
import { XtError } from "../errors.ts";
import type { Module } from "../nn/module.ts";
import type { RankAgreement, StepResult } from "./loop.ts";

export interface DataParallelOptions {
  /** All-reduce on device memory (NCCL) where it supports the model's backend. */
  device?: DeviceCollective;
  /** Bucket cap after the first, in bytes (DDP's 25 MB by default). */
  bucketBytes?: number;
}

export class DataParallel implements RankAgreement {
  private reducer: GradientAllReducer | null = null;

  constructor(readonly collective: Collective, private readonly opts: DataParallelOptions = {}) {}

  get rank(): number {
    return this.collective.rank;
  }
  get size(): number {
    return this.collective.size;
  }

  /** For the start event and logs, e.g. "2 ranks (Open MPI v4.1.4 …; all-reduce in host memory)". */
  describe(): string {
    const path = this.reducer ? this.reducer.path : this.collective.description;
    return `${this.size} rank${this.size === 1 ? "" : "s"} (${path})`;
  }

  /** Rank 0's weights and buffers everywhere; gradients averaged from now on. Call once, before training. */
  wrap(model: Module): void {
    if (this.reducer) throw new XtError("DataParallel.wrap: already wrapping a model");
    broadcastTensors(model.stateDict().values(), this.collective);
    this.reducer = new GradientAllReducer(model.parameters(), this.collective, {
      device: this.opts.device,
      ...(this.opts.bucketBytes !== undefined ? { bucketBytes: this.opts.bucketBytes } : {}),
    }).attach();
  }

  /** The loop's afterBackward hook: every .grad becomes the mean over ranks. */
  readonly afterBackward = (): void => {
    if (!this.reducer) throw new XtError("DataParallel: wrap(model) before training");
    this.reducer.finish();
  };

  /** The all-reduce's timing over the last step. */
  get lastTiming(): AllReduceTiming | undefined {
    return this.reducer?.lastTiming;
  }

  combineStep(r: StepResult, stopAsked: boolean): { r: StepResult; stop: boolean } {
    if (this.size === 1) return { r, stop: stopAsked };
    const [lossSum, correct, examples, tokens, stop] = allreduceNumbers(this.collective, [
      r.loss * r.examples, r.correct ?? 0, r.examples, r.tokens ?? 0, stopAsked ? 1 : 0,
    ]);
    return {
      r: {
        loss: lossSum! / examples!, examples: examples!,
        ...(r.correct !== undefined ? { correct: correct! } : {}), ...(r.tokens !== undefined ? { tokens: tokens! } : {}),
      },
      stop: stop! > 0,
    };
  }

  agreeStop(stopAsked: boolean): boolean {
    return this.size === 1 ? stopAsked : allreduceNumbers(this.collective, [stopAsked ? 1 : 0])[0]! > 0;
  }

  /** Sums over ranks. */
  sum(values: number[]): number[] {
    return allreduceNumbers(this.collective, values);
  }

  /** This rank's contiguous share [lo, hi) of n items (the first n mod N ranks take one more). */
  shard(n: number): { lo: number; hi: number } {
    const base = Math.floor(n / this.size);
    const extra = n % this.size;
    const lo = this.rank * base + Math.min(this.rank, extra);
    return { lo, hi: lo + base + (this.rank < extra ? 1 : 0) };
  }
}
