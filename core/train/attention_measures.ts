/**
 * What makes the attention ablations' mechanisms visible (`xt ablate attention`, Inline
 * Question 1), measured on captured softmax weights (core/models/attention_capture.ts):
 *
 *  - entropy of each attention row, −Σ w·ln w (nats): high = spread out, 0 = all weight on one key;
 *    unscaled scores make the softmax peakier (lower entropy, larger weights);
 *  - the largest weight of each row (mean over rows) and the largest weight anywhere;
 *  - per head, the mean attention distance Σ_t w(s, t)·dist(s, t) averaged over the query rows
 *    (patch-grid units for the ViT, token positions for captioning): several heads can attend at
 *    different ranges, one head has one average range;
 *  - the gradient norm reaching the query and key weights (after a backward pass).
 *
 * Rows are averaged over every image/caption, head and query position kept by `keepRow`.
 */
import type { CapturedAttention } from "../models/attention_capture.ts";
import { MultiHeadAttention } from "../models/multi_head_attention.ts";
import type { Module } from "../nn/module.ts";

export interface BlockStats {
  /** Dotted module name ("transformer.layers.0.self_attn"). */
  module: string;
  /** Mean row entropy (nats), over batch, heads and kept rows. */
  entropy: number;
  /** Mean over rows of the row's largest weight. */
  rowMax: number;
  /** The largest weight anywhere in the block. */
  largest: number;
  /** Per head: the mean attention distance over batch and kept rows. */
  headDistance: number[];
}

/** dist(query position, key position). */
export type Distance = (s: number, t: number) => number;

/** Euclidean distance between two patches of a g×g grid, patches numbered row by row (in patches). */
export function gridDistance(g: number): Distance {
  return (s, t) => Math.hypot(Math.floor(s / g) - Math.floor(t / g), (s % g) - (t % g));
}

/** Distance between token positions. */
export const tokenDistance: Distance = (s, t) => Math.abs(s - t);

/**
 * Statistics of each captured block. `keepRow(n, s)` says whether query row s of batch item n
 * counts (default all; captioning leaves out <NULL> positions).
 */
export function attentionStats(captures: CapturedAttention[], distance: Distance, keepRow: (n: number, s: number) => boolean = () => true): BlockStats[] {
  return captures.map(({ module, shape: [N, H, S, T], weights }) => {
    const dist = new Float64Array(S * T);
    for (let s = 0; s < S; s++) for (let t = 0; t < T; t++) dist[s * T + t] = distance(s, t);
    let entropy = 0;
    let rowMax = 0;
    let largest = 0;
    let rows = 0;
    const headSum = new Float64Array(H);
    for (let n = 0; n < N; n++) {
      for (let s = 0; s < S; s++) {
        if (!keepRow(n, s)) continue;
        for (let h = 0; h < H; h++) {
          const o = ((n * H + h) * S + s) * T;
          let e = 0;
          let m = 0;
          let d = 0;
          for (let t = 0; t < T; t++) {
            const w = weights[o + t]!;
            if (w > 0) e -= w * Math.log(w);
            if (w > m) m = w;
            d += w * dist[s * T + t]!;
          }
          entropy += e;
          rowMax += m;
          if (m > largest) largest = m;
          headSum[h] += d;
        }
        rows++;
      }
    }
    const div = Math.max(rows, 1);
    return {
      module,
      entropy: entropy / (div * H),
      rowMax: rowMax / (div * H),
      largest,
      headDistance: Array.from(headSum, (v) => v / div),
    };
  });
}

/** √(Σ ‖∂L/∂W_query‖² + ‖∂L/∂W_key‖²) over every attention block of `model` (weights, not biases). */
export function queryKeyGradNorm(model: Module): number {
  let sq = 0;
  for (const [, m] of model.namedModules()) {
    if (!(m instanceof MultiHeadAttention)) continue;
    for (const w of [m.query.weight, m.key.weight]) {
      const g = w.grad?.data();
      if (g) for (let i = 0; i < g.length; i++) sq += g[i]! * g[i]!;
    }
  }
  return Math.sqrt(sq);
}
