/**
 * 2-D convolution as PyTorch's CPU reference does it: im2col (unfold) + one matmul per image,
 * plus the bias. Autograd comes from the parts: the matmul's backward gives the weight and the
 * columns' gradients, unfold's backward (col2im) takes the columns' gradient back to the image.
 */
import { isFloating } from "../dtype.ts";
import { XtError } from "../errors.ts";
import { shapeStr } from "../shape.ts";
import type { Tensor } from "../tensor.ts";
import { add } from "./elementwise.ts";
import { record, wrap } from "./graph.ts";
import { matmul } from "./matmul.ts";
import { reshape } from "./views.ts";
import { window2d, type Size2 } from "./window2d.ts";

/**
 * F.unfold(x, kernel, padding=, stride=): x (N, C, H, W) → (N, C·kh·kw, L) with one column per
 * window position (L = Ho·Wo), rows in (channel, window row, window column) order.
 */
export function unfold(x: Tensor, kernel: Size2, stride: Size2 = 1, padding: Size2 = 0): Tensor {
  if (!isFloating(x.dtype)) throw new XtError(`unfold: input dtype must be floating point, got ${x.dtype}`);
  const { w, out: [Ho, Wo] } = window2d("unfold", x, kernel, stride, padding);
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const cols = wrap(x, x.backend.im2col(x.detach(), w), [N, C * w.kh * w.kw, Ho * Wo]);
  return record(cols, "Im2ColBackward", [x], (g) => [wrap(g, g.backend.col2im(g, w, H, W), [N, C, H, W])]);
}

/**
 * F.conv2d(x, weight, bias, stride, padding): x (N, C_in, H, W), weight (C_out, C_in, kh, kw),
 * bias (C_out) or null → (N, C_out, Ho, Wo).
 */
export function conv2d(x: Tensor, weight: Tensor, bias: Tensor | null = null, stride: Size2 = 1, padding: Size2 = 0): Tensor {
  if (weight.ndim !== 4) throw new XtError(`conv2d: weight must be 4-D (C_out, C_in, kh, kw), got ${shapeStr(weight.shape)}`);
  const [Cout, Cin, kh, kw] = weight.shape as [number, number, number, number];
  if (x.ndim !== 4 || x.shape[1] !== Cin) {
    throw new XtError(`conv2d: input ${shapeStr(x.shape)} does not fit weight ${shapeStr(weight.shape)} (expected (N, ${Cin}, H, W))`);
  }
  if (bias && (bias.ndim !== 1 || bias.shape[0] !== Cout)) {
    throw new XtError(`conv2d: bias ${shapeStr(bias.shape)} does not fit weight ${shapeStr(weight.shape)} (expected (${Cout}))`);
  }
  const { out: [Ho, Wo] } = window2d("conv2d", x, [kh, kw], stride, padding);
  const cols = unfold(x, [kh, kw], stride, padding);
  let y = matmul(reshape(weight, [Cout, Cin * kh * kw]), cols);
  if (bias) y = add(y, reshape(bias, [Cout, 1]));
  return reshape(y, [x.shape[0]!, Cout, Ho, Wo]);
}
