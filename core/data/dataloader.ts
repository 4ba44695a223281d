/**
 * DataLoader: torch.utils.data.DataLoader(ds, batch_size=b, shuffle=...) with num_workers=0 and
 * drop_last=False, over an in-memory image data set.
 *
 * Random draws, exactly as PyTorch makes them from the global generator (rng.md section 6):
 *  - every pass, shuffled or not, starts with `iter(loader)` drawing `_base_seed` (one random64);
 *  - a shuffled pass then draws the RandomSampler's seed at the first batch and takes its order
 *    from randperm(n) on a private generator seeded with it (dataLoaderEpochOrder).
 * So a pass over the test loader (shuffle=False) moves the global stream by two words too, which
 * decides the dropout masks of the next training epoch. The last batch keeps what is left
 * (n mod batch size images) when the size does not divide n.
 */
import { XtError } from "../errors.ts";
import { fromArray } from "../ops/creation.ts";
import { defaultGenerator, randomSamplerOrder, type TorchGenerator } from "../random/index.ts";
import type { Tensor } from "../tensor.ts";
import type { ImageTransform } from "./augment.ts";

/** What the loader needs from a data set (ImageDataset has all of it). */
export interface TensorImageSet {
  /** N·C·H·W float32. */
  images: Float32Array;
  labels: Int32Array;
  n: number;
  channels: number;
  height: number;
  width: number;
}

export interface ImageBatch {
  /** (b, C, H, W) float32. */
  images: Tensor;
  /** (b) int32 class indices. */
  labels: Tensor;
  /** The data set indices of the batch, in order. */
  indices: Int32Array;
  /** b: the batch size, smaller for the last batch. */
  size: number;
}

/** Where a pass's indices come from instead of shuffle (DataLoader(sampler=...)): a DistributedSampler. */
export interface IndexSampler {
  /** Indices in one pass. */
  readonly length: number;
  /** The indices of one pass, in order. */
  indices(): Int32Array;
}

export interface DataLoaderOptions {
  batchSize: number;
  shuffle?: boolean;
  /** Take each pass's order from this sampler (shuffle must then be false, as in PyTorch). */
  sampler?: IndexSampler;
  /** The global stream the draws come from; defaults to torch's default generator. */
  generator?: TorchGenerator;
  /**
   * The data set's per-image transform (augmentation): run on each image of a batch, in the
   * batch's order, as __getitem__ runs it; its draws come from the same generator.
   */
  transform?: ImageTransform;
}

/**
 * The index batches of one pass: draws like `iter(DataLoader(range(n), batch_size, shuffle))`.
 * The base seed is drawn when this is called; the sampler seed (shuffle only) at the first next().
 */
export function batchIndices(n: number, batchSize: number, shuffle: boolean, gen: TorchGenerator = defaultGenerator): Generator<Int32Array> {
  checkSizes(n, batchSize);
  gen.randomInt64(); // _BaseDataLoaderIter.__init__: _base_seed (unused with num_workers=0)
  return passOver(n, batchSize, shuffle, gen);
}

/** A pass with a sampler: iter(loader) still draws the base seed; the sampler draws from its own generator. */
export function samplerBatchIndices(sampler: IndexSampler, batchSize: number, gen: TorchGenerator = defaultGenerator): Generator<Int32Array> {
  checkSizes(1, batchSize);
  gen.randomInt64(); // _BaseDataLoaderIter.__init__: _base_seed
  return (function* () {
    const order = sampler.indices();
    for (let start = 0; start < order.length; start += batchSize) yield order.subarray(start, Math.min(order.length, start + batchSize));
  })();
}

function* passOver(n: number, batchSize: number, shuffle: boolean, gen: TorchGenerator): Generator<Int32Array> {
  let order: Int32Array;
  if (shuffle) order = randomSamplerOrder(gen, n);
  else {
    order = new Int32Array(n);
    for (let i = 0; i < n; i++) order[i] = i;
  }
  for (let start = 0; start < n; start += batchSize) yield order.subarray(start, Math.min(n, start + batchSize));
}

function checkSizes(n: number, batchSize: number): void {
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new XtError(`DataLoader: batch size must be a positive whole number, got ${batchSize}`);
  if (!Number.isInteger(n) || n < 1) throw new XtError(`DataLoader: the data set is empty`);
}

export class DataLoader implements Iterable<ImageBatch> {
  readonly batchSize: number;
  readonly shuffle: boolean;
  readonly sampler: IndexSampler | null;
  private readonly gen: TorchGenerator;
  private readonly imageSize: number;
  private readonly transform?: ImageTransform;

  constructor(readonly dataset: TensorImageSet, opts: DataLoaderOptions) {
    checkSizes(dataset.n, opts.batchSize);
    this.batchSize = opts.batchSize;
    this.shuffle = opts.shuffle ?? false;
    this.sampler = opts.sampler ?? null;
    if (this.sampler && this.shuffle) throw new XtError("DataLoader: sampler option is mutually exclusive with shuffle");
    this.gen = opts.generator ?? defaultGenerator;
    this.transform = opts.transform;
    this.imageSize = dataset.channels * dataset.height * dataset.width;
    if (dataset.images.length !== dataset.n * this.imageSize || dataset.labels.length !== dataset.n) {
      throw new XtError(
        `DataLoader: ${dataset.n} images of ${dataset.channels}×${dataset.height}×${dataset.width} need ${dataset.n * this.imageSize} pixels and ${dataset.n} labels, got ${dataset.images.length} and ${dataset.labels.length}`,
      );
    }
  }

  /** Number of batches in a pass: ceil(n / batch size) (drop_last=False); n is the sampler's length with one. */
  get length(): number {
    return Math.ceil((this.sampler ? this.sampler.length : this.dataset.n) / this.batchSize);
  }

  /** One pass (an epoch); each call draws as `iter(loader)` does. */
  [Symbol.iterator](): Iterator<ImageBatch> {
    const it = this.sampler
      ? samplerBatchIndices(this.sampler, this.batchSize, this.gen)
      : batchIndices(this.dataset.n, this.batchSize, this.shuffle, this.gen);
    const self = this;
    return (function* () {
      for (const idx of it) yield self.gather(idx);
    })();
  }

  /** The batch of the given data set indices (copies the pixels, then transforms each image in order). */
  gather(indices: Int32Array): ImageBatch {
    const { images, labels, channels, height, width } = this.dataset;
    const size = indices.length;
    const S = this.imageSize;
    const x = new Float32Array(size * S);
    const y = new Int32Array(size);
    for (let i = 0; i < size; i++) {
      const k = indices[i]!;
      x.set(images.subarray(k * S, (k + 1) * S), i * S);
      y[i] = labels[k]!;
      this.transform?.(x.subarray(i * S, (i + 1) * S), this.gen);
    }
    return {
      images: fromArray(x, [size, channels, height, width]),
      labels: fromArray(y, [size], "int32"),
      indices: Int32Array.from(indices),
      size,
    };
  }
}

/** The first `count` images of a data set (all of them when count is undefined or larger). */
export function takeFirst<T extends TensorImageSet>(ds: T, count?: number): T {
  if (count === undefined || count >= ds.n) return ds;
  if (!Number.isInteger(count) || count < 1) throw new XtError(`need a positive number of images, got ${count}`);
  const S = ds.channels * ds.height * ds.width;
  return { ...ds, n: count, images: ds.images.subarray(0, count * S), labels: ds.labels.subarray(0, count) };
}
