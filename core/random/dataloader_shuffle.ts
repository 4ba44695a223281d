/**
 * Index order of one epoch of `DataLoader(ds, batch_size=..., shuffle=True)` with num_workers=0
 * and no generator= argument (torch/utils/data/dataloader.py + sampler.py, 1.10-2.x; rng.md section 6).
 *
 * Per epoch, from the global generator:
 *  1. iter(loader) draws `_base_seed = random_()` on an int64 scalar (random64 % 2^63): 2 words;
 *  2. the first next() runs RandomSampler.__iter__, which draws its own seed the same way: 2 words;
 *  3. the order is randperm(n) on a fresh torch.Generator seeded with that seed (only its low 32
 *     bits, i.e. the second word, reach MT19937). The private generator is then dropped, so the
 *     trailing randperm(n)[:0] that runs at exhaustion touches nothing global.
 */
import { TorchGenerator } from "./torch_generator.ts";

export function dataLoaderEpochOrder(gen: TorchGenerator, n: number): Int32Array {
  gen.randomInt64(); // _BaseDataLoaderIter.__init__: _base_seed (unused with num_workers=0)
  return randomSamplerOrder(gen, n);
}

/** RandomSampler(ds) (replacement=False, no generator): the order of one pass over it. */
export function randomSamplerOrder(gen: TorchGenerator, n: number): Int32Array {
  if (!Number.isInteger(n) || n <= 0) throw new RangeError(`RandomSampler needs a positive dataset length, got ${n}`);
  const seed = gen.randomInt64();
  return new TorchGenerator({ seed }).randperm(n);
}
