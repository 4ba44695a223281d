/**
 * Checkpoints: weights as safetensors under PyTorch's parameter names, plus a JSON sidecar with
 * everything needed to resume (config, vocabulary, optimizer moments, RNG states, step).
 * Both files are written atomically (temp file, then rename).
 */
import { existsSync, readFileSync } from "node:fs";
import { DataError } from "../errors.ts";
import type { Module } from "../nn/module.ts";
import type { AdamStateDict } from "../optim/adam.ts";
import { fromArray } from "../ops/creation.ts";
import type { Tensor } from "../tensor.ts";
import { writeFileAtomic } from "./atomic_write.ts";
import { decodeSafetensors, encodeSafetensors, type NamedArray } from "./safetensors.ts";

export const CHECKPOINT_FORMAT = "xt-checkpoint/1";

export interface CheckpointMeta {
  format?: string;
  kind: "captioning" | "vit";
  config: Record<string, unknown>;
  step: number;
  epoch?: number;
  vocab?: { idx_to_word: string[]; word_to_idx: Record<string, number> };
  optimizer?: AdamStateDict;
  rng?: Record<string, unknown>;
  extra?: Record<string, unknown>;
}

/** model.safetensors → model.json; anything else gets ".json" appended. */
export function sidecarPath(weightsPath: string): string {
  return weightsPath.endsWith(".safetensors") ? weightsPath.slice(0, -".safetensors".length) + ".json" : `${weightsPath}.json`;
}

function f32ToBase64(a: ArrayLike<number>): string {
  const f = a instanceof Float32Array ? a : Float32Array.from(a);
  return Buffer.from(f.buffer, f.byteOffset, f.byteLength).toString("base64");
}

function base64ToF32(s: string): Float32Array {
  const b = Buffer.from(s, "base64");
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

export function saveCheckpoint(path: string, model: Module, meta: CheckpointMeta): void {
  const tensors: [string, NamedArray][] = [...model.stateDict()].map(([name, t]) => [
    name,
    { dtype: t.dtype === "float64" ? "F64" : t.dtype === "int32" ? "I32" : "F32", shape: [...t.shape], data: t.data() as Float32Array },
  ]);
  const weights = encodeSafetensors(tensors, { format: "pt", producer: "xt" });
  const optimizer = meta.optimizer && {
    ...meta.optimizer,
    state: meta.optimizer.state.map((s) => ({ step: s.step, expAvg: f32ToBase64(s.expAvg), expAvgSq: f32ToBase64(s.expAvgSq) })),
  };
  const sidecar = JSON.stringify({ ...meta, format: CHECKPOINT_FORMAT, optimizer }, null, 1);
  writeFileAtomic(path, weights);
  writeFileAtomic(sidecarPath(path), sidecar);
}

export interface LoadedCheckpoint {
  weights: Map<string, Tensor>;
  meta: CheckpointMeta;
}

export function loadCheckpoint(path: string): LoadedCheckpoint {
  const side = sidecarPath(path);
  if (!existsSync(path)) throw new DataError(path, "checkpoint file not found");
  if (!existsSync(side)) throw new DataError(side, `checkpoint sidecar not found (it is written next to ${path})`);
  const { tensors } = decodeSafetensors(path, new Uint8Array(readFileSync(path)));
  type StoredOptimizer = Omit<AdamStateDict, "state"> & { state: { step: number; expAvg: string; expAvgSq: string }[] };
  let raw: Omit<CheckpointMeta, "optimizer"> & { optimizer?: StoredOptimizer };
  try {
    raw = JSON.parse(readFileSync(side, "utf8"));
  } catch (e) {
    throw new DataError(side, `not valid JSON (${(e as Error).message})`);
  }
  if (raw.format !== CHECKPOINT_FORMAT) throw new DataError(side, `unknown checkpoint format '${raw.format}' (expected ${CHECKPOINT_FORMAT})`);
  const weights = new Map<string, Tensor>();
  for (const [name, a] of tensors) weights.set(name, fromArray(a.data, a.shape, a.dtype === "F64" ? "float64" : a.dtype === "I32" ? "int32" : "float32"));
  const optimizer = raw.optimizer && {
    ...raw.optimizer,
    state: raw.optimizer.state.map((s) => ({ step: s.step, expAvg: base64ToF32(s.expAvg), expAvgSq: base64ToF32(s.expAvgSq) })),
  };
  return { weights, meta: { ...raw, optimizer } as CheckpointMeta };
}
