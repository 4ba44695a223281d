/** F.max_pool2d(x, kernel, stride, padding): the backend's window max and its gradient routed to the argmax. */
import { isFloating } from "../dtype.ts";
import { XtError } from "../errors.ts";
import type { Tensor } from "../tensor.ts";
import { record, wrap } from "./graph.ts";
import { pair, window2d, type Size2 } from "./window2d.ts";

/**
 * x (N, C, H, W) → (N, C, Ho, Wo), the maximum of each window (stride defaults to the kernel).
 * The backward adds each output's gradient at the first maximum of its window (PyTorch's rule).
 */
export function maxPool2d(x: Tensor, kernel: Size2, stride?: Size2, padding: Size2 = 0): Tensor {
  if (!isFloating(x.dtype)) throw new XtError(`max_pool2d: input dtype must be floating point, got ${x.dtype}`);
  const { w, out: [Ho, Wo] } = window2d("max_pool2d", x, kernel, stride ?? kernel, padding);
  const [ph, pw] = pair("max_pool2d", "padding", padding, 0);
  if (2 * ph > w.kh || 2 * pw > w.kw) {
    throw new XtError(`max_pool2d: padding ${ph}×${pw} should be at most half the kernel ${w.kh}×${w.kw}`);
  }
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const r = x.backend.maxPool2d(x.detach(), w);
  const out = wrap(x, r.y, [N, C, Ho, Wo]);
  const indices = wrap(x, r.indices, [N, C, Ho, Wo]);
  return record(out, "MaxPool2DWithIndicesBackward", [x], (g) => [wrap(g, g.backend.maxPool2dBackward(g, indices, w, H, W), [N, C, H, W])]);
}
