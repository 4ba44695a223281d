/**
 * Random numbers that reproduce PyTorch's CPU generator and NumPy's legacy RandomState bit for bit.
 *
 * `defaultGenerator` plays torch.default_generator (seeded like PyTorch at start-up) and
 * `globalNumpy` plays np.random's global RandomState. They are independent, as in Python:
 * manualSeed() does not touch NumPy and npSeed() does not touch torch.
 */
import { DEFAULT_TORCH_SEED, TorchGenerator } from "./torch_generator.ts";
import { NumpyRandomState } from "./numpy_random_state.ts";

export { MT19937, lowU32, type MT19937State } from "./mt19937.ts";
export { fmaf } from "./fmaf.ts";
export { fma64 } from "./fma64.ts";
export { logPs, sincosPs, type SinCos } from "./avx_mathfun.ts";
export {
  TorchGenerator,
  DEFAULT_TORCH_SEED,
  mcg31Next,
  setBulkBernoulli,
  setBulkFills,
  type BulkBernoulli,
  type BulkFills,
  type TorchGeneratorOptions,
  type TorchGeneratorState,
  type U64Pair,
} from "./torch_generator.ts";
export { dataLoaderEpochOrder, randomSamplerOrder } from "./dataloader_shuffle.ts";
export { NumpyRandomState, type NumpyRandomStateState } from "./numpy_random_state.ts";
export { kaimingUniformBound, linearBiasBound, xavierUniformBound } from "./init_bounds.ts";

/** torch.default_generator: seeded with 67280421310721 at start-up, like PyTorch. */
export const defaultGenerator = new TorchGenerator({ seed: DEFAULT_TORCH_SEED });

/** torch.manual_seed(seed): reseeds defaultGenerator only (and clears its normal cache). */
export function manualSeed(seed: number | bigint): TorchGenerator {
  return defaultGenerator.manualSeed(seed);
}

/**
 * np.random's global RandomState. NumPy seeds it from OS entropy at import; we seed it with 0 so
 * runs are reproducible even when the caller forgets npSeed (any fixed value is as good).
 */
export const globalNumpy = new NumpyRandomState(0);

/** np.random.seed(seed). */
export function npSeed(seed: number): void {
  globalNumpy.seed(seed);
}
