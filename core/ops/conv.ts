/**
 * 2-D convolution as one matrix product: the window patches as rows (the backend's im2row,
 * [N, Ho·Wo, C·kh·kw]) times the weight seen as [C_out, C·kh·kw] transposed, plus the bias — a
 * linear layer over N·Ho·Wo rows, so the forward, the weight gradient and the patches' gradient are
 * each one large gemm. Autograd comes from the parts: the linear's backward gives the weight, bias
 * and patch gradients, im2row's backward (row2im) takes the patches' gradient back to the image.
 * The result is a permuted view of the [N, Ho, Wo, C_out] product (channels-last in memory).
 */
import { isFloating } from "../dtype.ts";
import { XtError } from "../errors.ts";
import { shapeStr } from "../shape.ts";
import type { Tensor } from "../tensor.ts";
import { record, wrap } from "./graph.ts";
import { linear } from "./linear.ts";
import { permute, reshape, transpose } from "./views.ts";
import { window2d, type Size2 } from "./window2d.ts";

/** The window patches of x (N, C, H, W) as rows: (N, Ho·Wo, C·kh·kw), in (channel, window row, window column) order. */
export function im2row(x: Tensor, kernel: Size2, stride: Size2 = 1, padding: Size2 = 0): Tensor {
  if (!isFloating(x.dtype)) throw new XtError(`unfold: input dtype must be floating point, got ${x.dtype}`);
  const { w, out: [Ho, Wo] } = window2d("unfold", x, kernel, stride, padding);
  const [N, C, H, W] = x.shape as [number, number, number, number];
  const rows = wrap(x, x.backend.im2row(x.detach(), w), [N, Ho * Wo, C * w.kh * w.kw]);
  return record(rows, "Im2RowBackward", [x], (g) => [wrap(g, g.backend.row2im(g, w, H, W), [N, C, H, W])]);
}

/** F.unfold(x, kernel, padding=, stride=): (N, C·kh·kw, Ho·Wo), one column per window position (a view of im2row). */
export function unfold(x: Tensor, kernel: Size2, stride: Size2 = 1, padding: Size2 = 0): Tensor {
  return transpose(im2row(x, kernel, stride, padding), 1, 2);
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
  const N = x.shape[0]!;
  const K = Cin * kh * kw;
  const rows = reshape(im2row(x, [kh, kw], stride, padding), [N * Ho * Wo, K]);
  const y = linear(rows, reshape(weight, [Cout, K]), bias);
  return permute(reshape(y, [N, Ho, Wo, Cout]), [0, 3, 1, 2]);
}
