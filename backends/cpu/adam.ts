/** PyTorch's single-tensor Adam step (torch/optim/adam.py, 1.13), element by element in float32 steps. */
import type { AdamParams, Storage, View } from "../../core/backend.ts";
import { dataOf } from "./storage.ts";
import { isDense, offsetsOf } from "./strided.ts";

export function adamStepInPlace(param: Storage, grad: View, m: Storage, v: Storage, p: AdamParams): void {
  const w = dataOf(param);
  const ma = dataOf(m);
  const va = dataOf(v);
  const gs = dataOf(grad.storage);
  // Dense gradients (the usual case) need no offset table.
  const dense = isDense(grad);
  const og = dense ? null : offsetsOf(grad);
  const g0 = grad.offset;
  const f = w instanceof Float32Array ? Math.fround : (x: number) => x;
  const b1 = p.beta1;
  const b2 = p.beta2;
  const bc1 = 1 - b1 ** p.step;
  const bc2 = 1 - b2 ** p.step;
  const stepSize = p.lr / bc1;
  const bc2Sqrt = Math.sqrt(bc2);
  const wd = f(p.weightDecay);
  const eps = f(p.eps);
  for (let i = 0; i < w.length; i++) {
    let g = og ? gs[og[i]!]! : gs[g0 + i]!;
    if (p.weightDecay !== 0) g = f(g + wd * w[i]!); // grad.add(param, alpha=wd)
    const mi = f(f(ma[i]! * f(b1)) + f(1 - b1) * g); // exp_avg.mul_(b1).add_(g, alpha=1-b1)
    const vi = f(f(va[i]! * f(b2)) + f(f(1 - b2) * g) * g); // exp_avg_sq.mul_(b2).addcmul_(g, g, 1-b2)
    ma[i] = mi;
    va[i] = vi;
    const denom = f(f(f(Math.sqrt(vi)) / f(bc2Sqrt)) + eps);
    w[i] = f(w[i]! + f(-stepSize) * f(mi / denom)); // param.addcdiv_(m, denom, value=-step_size)
  }
}
