/**
 * What attention weights say about the input, for figures.
 *
 * Attention rollout (Abnar & Zuidema, 2020, "Quantifying Attention Flow in Transformers"): per
 * layer, average the heads, add the identity for the residual connection and renormalise the
 * rows (Â = (A + I) / 2, as the rows of A sum to 1), then multiply the layers: R = Â_L ⋯ Â_1.
 * R[i][j] is how much token i at the top draws on input token j.
 */

/** One layer's weights for one example: heads × tokens × tokens, rows summing to 1. */
export interface LayerAttention {
  heads: number;
  tokens: number;
  /** heads·tokens·tokens, row-major. */
  weights: Float32Array;
}

/** Mean over the heads: a tokens × tokens matrix (Float64). */
export function meanOverHeads(a: LayerAttention): Float64Array {
  const T = a.tokens;
  const out = new Float64Array(T * T);
  for (let h = 0; h < a.heads; h++) for (let k = 0; k < T * T; k++) out[k]! += a.weights[h * T * T + k]!;
  for (let k = 0; k < T * T; k++) out[k]! /= a.heads;
  return out;
}

/** The attention each key token receives from one head, averaged over the queries. */
export function receivedAttention(a: LayerAttention, head: number): Float64Array {
  const T = a.tokens;
  const out = new Float64Array(T);
  const base = head * T * T;
  for (let i = 0; i < T; i++) for (let j = 0; j < T; j++) out[j]! += a.weights[base + i * T + j]!;
  for (let j = 0; j < T; j++) out[j]! /= T;
  return out;
}

/** The rollout matrix R (tokens × tokens) over the layers, first layer first. */
export function attentionRollout(layers: readonly LayerAttention[]): Float64Array {
  if (layers.length === 0) throw new Error("attentionRollout: no layers");
  const T = layers[0]!.tokens;
  let r = identity(T);
  for (const layer of layers) {
    if (layer.tokens !== T) throw new Error(`attentionRollout: layers have ${T} and ${layer.tokens} tokens`);
    const a = meanOverHeads(layer);
    for (let i = 0; i < T; i++) {
      a[i * T + i]! += 1;
      let s = 0;
      for (let j = 0; j < T; j++) s += a[i * T + j]!;
      for (let j = 0; j < T; j++) a[i * T + j]! /= s;
    }
    r = matmul(a, r, T);
  }
  return r;
}

/**
 * The rollout seen from the output of a ViT that mean-pools its tokens (no class token): the
 * column means of R, i.e. how much each input patch contributes to the pooled representation.
 */
export function pooledRollout(layers: readonly LayerAttention[]): Float64Array {
  const T = layers[0]?.tokens ?? 0;
  const r = attentionRollout(layers);
  const out = new Float64Array(T);
  for (let i = 0; i < T; i++) for (let j = 0; j < T; j++) out[j]! += r[i * T + j]! / T;
  return out;
}

function identity(n: number): Float64Array {
  const m = new Float64Array(n * n);
  for (let i = 0; i < n; i++) m[i * n + i] = 1;
  return m;
}

function matmul(a: Float64Array, b: Float64Array, n: number): Float64Array {
  const out = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < n; k++) {
      const v = a[i * n + k]!;
      if (v === 0) continue;
      for (let j = 0; j < n; j++) out[i * n + j]! += v * b[k * n + j]!;
    }
  }
  return out;
}
