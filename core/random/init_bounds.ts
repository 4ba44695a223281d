/**
 * The double-precision bounds PyTorch's default inits pass to uniform_ (torch/nn/init.py and
 * nn.Linear.reset_parameters, rng.md section 7). The formula is replicated operation by operation
 * because the Python double (not 1/sqrt(fan_in)) is what gets cast to float32 inside uniform_.
 */

/**
 * init.kaiming_uniform_(w, a) with mode fan_in, leaky_relu gain:
 * gain = sqrt(2/(1+a^2)); std = gain/sqrt(fan_in); bound = sqrt(3)*std.
 * nn.Linear uses a = sqrt(5) (a**2 is 5.000000000000001 in doubles). fanIn must be > 0
 * (PyTorch skips zero-element tensors without drawing).
 */
export function kaimingUniformBound(fanIn: number, a: number = Math.sqrt(5)): number {
  if (!(fanIn > 0)) throw new RangeError(`kaimingUniformBound: fan_in must be positive, got ${fanIn}`);
  const gain = Math.sqrt(2.0 / (1 + a * a)); // Python a**2 == a*a (correctly rounded square)
  const std = gain / Math.sqrt(fanIn);
  return Math.sqrt(3.0) * std;
}

/** nn.Linear bias bound: 1/math.sqrt(fan_in) if fan_in > 0 else 0. */
export function linearBiasBound(fanIn: number): number {
  return fanIn > 0 ? 1 / Math.sqrt(fanIn) : 0;
}

/** init.xavier_uniform_ bound: gain * sqrt(2/(fan_in+fan_out)) * sqrt(3), in PyTorch's operation order. */
export function xavierUniformBound(fanIn: number, fanOut: number, gain = 1.0): number {
  const std = gain * Math.sqrt(2.0 / (fanIn + fanOut));
  return Math.sqrt(3.0) * std;
}
