/**
 * torch.utils.data.distributed.DistributedSampler (PyTorch 1.13), bit for bit:
 *
 *   shuffle:  g = torch.Generator(); g.manual_seed(seed + epoch); indices = torch.randperm(n, generator=g)
 *   else:     indices = 0 … n−1
 *   drop_last false: pad to total_size = ceil(n / N)·N by repeating indices from the start
 *             (the whole list again as often as needed when the padding is longer than n);
 *   drop_last true:  cut to total_size = floor(n / N)·N;
 *   rank r takes indices[r : total_size : N].
 *
 * The rank shards interleave, so batch k of every rank together is exactly batch k of a
 * single-rank sampler with N times the batch size (same seed and epoch): data-parallel training
 * with N ranks of batch B sees the same global batches as one rank with batch N·B.
 * The private generator is created per pass; the global generator is untouched.
 */
import { XtError } from "../errors.ts";
import { TorchGenerator } from "../random/index.ts";
import type { IndexSampler } from "./dataloader.ts";

export interface DistributedSamplerOptions {
  numReplicas: number;
  rank: number;
  shuffle?: boolean;
  seed?: number;
  dropLast?: boolean;
}

export class DistributedSampler implements IndexSampler {
  readonly numReplicas: number;
  readonly rank: number;
  readonly shuffle: boolean;
  readonly seed: number;
  readonly dropLast: boolean;
  /** Indices per rank per pass. */
  readonly numSamples: number;
  readonly totalSize: number;
  epoch = 0;

  constructor(readonly n: number, opts: DistributedSamplerOptions) {
    const { numReplicas, rank } = opts;
    if (!Number.isInteger(n) || n < 1) throw new XtError(`DistributedSampler: the data set is empty`);
    if (!Number.isInteger(numReplicas) || numReplicas < 1) throw new XtError(`DistributedSampler: need at least one replica, got ${numReplicas}`);
    if (!Number.isInteger(rank) || rank < 0 || rank >= numReplicas) {
      throw new XtError(`DistributedSampler: invalid rank ${rank}, rank should be in the interval [0, ${numReplicas - 1}]`);
    }
    this.numReplicas = numReplicas;
    this.rank = rank;
    this.shuffle = opts.shuffle ?? true;
    this.seed = opts.seed ?? 0;
    this.dropLast = opts.dropLast ?? false;
    // math.ceil((n - N) / N) is 0 in Python when n < N: no samples at all.
    this.numSamples = this.dropLast && n % numReplicas !== 0 ? Math.max(0, Math.ceil((n - numReplicas) / numReplicas)) : Math.ceil(n / numReplicas);
    this.totalSize = this.numSamples * numReplicas;
  }

  /** len(sampler): numSamples. */
  get length(): number {
    return this.numSamples;
  }

  /** sampler.set_epoch(epoch): the next pass shuffles with seed + epoch. */
  setEpoch(epoch: number): void {
    this.epoch = epoch;
  }

  /** This rank's indices for the current epoch (numSamples of them). */
  indices(): Int32Array {
    const n = this.n;
    const all = this.shuffle
      ? new TorchGenerator({ seed: BigInt(this.seed) + BigInt(this.epoch) }).randperm(n)
      : Int32Array.from({ length: n }, (_, i) => i);
    const out = new Int32Array(this.numSamples);
    // Position k of the padded list is all[k mod n]: padding repeats the list from its start.
    for (let i = 0; i < this.numSamples; i++) out[i] = all[(this.rank + i * this.numReplicas) % n]!;
    return out;
  }
}
