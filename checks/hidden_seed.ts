/**
 * Grading at a seed other than the notebook's ("hidden-seed grading"): the reference is xt's own
 * output at that seed, in full float32 precision, and the thresholds are measured, not printed:
 * checks/expected/hidden_seed.json, written by fixtures/gen/gen_grading.py (PyTorch under every
 * OpenBLAS core type and ATen CPU capability, correct rewrites of the layers, xt's CPU kernel
 * variants, 81 seeds; docs/grading.md has the table).
 */
import { XtError } from "../core/errors.ts";
import measured from "./expected/hidden_seed.json";

interface HiddenSeedFile {
  floorFraction: number;
  outputs: { check: string; name: string; threshold: number; correctMax: number }[];
}

const file = measured as HiddenSeedFile;

/** The elementwise floor of the denominator, as a fraction of the reference's largest |value|. */
export const FLOOR_FRACTION = file.floorFraction;

/**
 * The notebook's rel_error with its 1e-8 floor raised to FLOOR_FRACTION × max|reference|:
 *   max_i |x_i − y_i| / max(|x_i| + |y_i|, FLOOR_FRACTION · max_j |y_j|)
 * Without it an element that happens to land near 0 turns last-bit noise into an error near 1,
 * and no threshold could tell a different BLAS kernel from a bug. y is the reference.
 */
export function hiddenSeedError(x: ArrayLike<number>, y: ArrayLike<number>): number {
  if (x.length !== y.length) throw new XtError(`hidden-seed error: ${x.length} values vs ${y.length}`);
  let scale = 0;
  for (let i = 0; i < y.length; i++) scale = Math.max(scale, Math.abs(y[i]!));
  const floor = Math.max(1e-8, FLOOR_FRACTION * scale);
  let worst = 0;
  for (let i = 0; i < x.length; i++) {
    const a = x[i]!;
    const b = y[i]!;
    const e = Math.abs(a - b) / Math.max(floor, Math.abs(a) + Math.abs(b));
    if (!(e <= worst)) worst = e; // NaN propagates as a failure
  }
  return worst;
}

/** The pass threshold of one output at a hidden seed. */
export function hiddenSeedThreshold(check: string, output: string): number {
  const o = file.outputs.find((e) => e.check === check && e.name === output);
  if (!o) throw new XtError(`no hidden-seed threshold for ${check}/${output} in checks/expected/hidden_seed.json`);
  return o.threshold;
}
