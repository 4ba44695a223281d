/**
 * Checkpoints, in three files next to each other (FILE is a stem):
 *
 *   FILE.safetensors        the model's weights under PyTorch's parameter names, nothing else:
 *                           `model.load_state_dict(safetensors.torch.load_file(...), strict=True)`
 *   FILE.json               small metadata: format, kind, model config, step, vocabulary, the
 *                           run's settings and position, the scalar parts of the RNG states
 *   FILE.optim.safetensors  the training state's tensors (only in a resumable checkpoint): Adam's
 *                           exp_avg / exp_avg_sq per parameter, the RNG key words, and any long
 *                           array of the run (loss history, the epoch's shuffle order)
 *
 * Each file is written atomically, the state file first and the sidecar last; all three carry
 * one save id, so a reader notices files from different saves instead of mixing them.
 * Sidecars of the first format (xt-checkpoint/1, moments as base64 in the JSON) still load.
 */
import { existsSync, readFileSync, statSync } from "node:fs";
import { basename, join } from "node:path";
import { DataError } from "../errors.ts";
import type { Module } from "../nn/module.ts";
import type { AdamStateDict } from "../optim/adam.ts";
import { fromArray } from "../ops/creation.ts";
import type { NumpyRandomStateState, TorchGeneratorState } from "../random/index.ts";
import type { Tensor } from "../tensor.ts";
import { writeFileAtomic } from "./atomic_write.ts";
import { jsonText } from "./json_text.ts";
import { decodeSafetensors, encodeSafetensors, type NamedArray } from "./safetensors.ts";

export const CHECKPOINT_FORMAT = "xt-checkpoint/2";
const FORMAT_1 = "xt-checkpoint/1";

/** The small, JSON part of a checkpoint (FILE.json). */
export interface CheckpointMeta {
  format?: string;
  kind: string;
  config: Record<string, unknown>;
  step: number;
  epoch?: number;
  vocab?: { idx_to_word: string[]; word_to_idx?: Record<string, number> };
  extra?: Record<string, unknown>;
}

/** Everything a resumed run needs besides the weights and the metadata. */
export interface TrainingState {
  optimizer: AdamStateDict;
  rng: { torch?: TorchGeneratorState; numpy?: NumpyRandomStateState };
  /** Long arrays of the run, by name (they go into the state file, not the sidecar). */
  arrays: Record<string, NamedArray>;
}

export interface CheckpointPaths {
  stem: string;
  weights: string;
  sidecar: string;
  state: string;
}

const SUFFIXES = [".optim.safetensors", ".safetensors", ".json"];

/**
 * The files of the checkpoint a user named: the stem (`run/last`), the weights
 * (`run/last.safetensors`), the sidecar (`run/last.json`) or the state file all name the same
 * checkpoint. A folder names the checkpoint `prefer` in it (`best` or `last`), else the other.
 */
export function checkpointPaths(path: string, prefer: "best" | "last" = "best"): CheckpointPaths {
  if (isDirectory(path)) {
    const order = prefer === "best" ? ["best", "last"] : ["last", "best"];
    const found = order.find((n) => existsSync(join(path, `${n}.json`)));
    if (found === undefined) throw new DataError(path, `a folder without a checkpoint (no ${order.map((n) => `${n}.json`).join(" or ")} in it)`);
    return pathsOfStem(join(path, found));
  }
  const suffix = SUFFIXES.find((s) => path.endsWith(s) && path.length > s.length);
  if (suffix === undefined && isFile(path) && !existsSync(`${path}.safetensors`)) {
    // The first format wrote `--save cap` to a weights file named `cap` (sidecar `cap.json`).
    return { stem: path, weights: path, sidecar: `${path}.json`, state: `${path}.optim.safetensors` };
  }
  return pathsOfStem(suffix === undefined ? path : path.slice(0, -suffix.length));
}

export function pathsOfStem(stem: string): CheckpointPaths {
  return { stem, weights: `${stem}.safetensors`, sidecar: `${stem}.json`, state: `${stem}.optim.safetensors` };
}

/** The sidecar (FILE.json) of a checkpoint named in any of the accepted forms. */
export function sidecarPath(path: string): string {
  return checkpointPaths(path).sidecar;
}

function isDirectory(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

let saveCounter = 0;

function toNamed(t: Tensor): NamedArray {
  return { dtype: t.dtype === "float64" ? "F64" : t.dtype === "int32" ? "I32" : "F32", shape: [...t.shape], data: t.data() as Float32Array };
}

function f32(a: ArrayLike<number>): Float32Array {
  return a instanceof Float32Array ? a : Float32Array.from(a);
}

/** The state file's tensors and the sidecar's `training` entry. */
function packTraining(s: TrainingState, stateFile: string): { tensors: [string, NamedArray][]; json: Record<string, unknown> } {
  const tensors: [string, NamedArray][] = [];
  const { state, ...hyper } = s.optimizer;
  state.forEach((p, i) => {
    if (p.step === 0) return;
    tensors.push([`optimizer.state.${i}.exp_avg`, { dtype: "F32", shape: [p.expAvg.length], data: f32(p.expAvg) }]);
    tensors.push([`optimizer.state.${i}.exp_avg_sq`, { dtype: "F32", shape: [p.expAvgSq.length], data: f32(p.expAvgSq) }]);
  });
  const rng: Record<string, unknown> = {};
  if (s.rng.torch) {
    const { mt, ...rest } = s.rng.torch;
    tensors.push(["rng.torch.key", { dtype: "U32", shape: [mt.key.length], data: Uint32Array.from(mt.key) }]);
    rng.torch = { ...rest, pos: mt.pos };
  }
  if (s.rng.numpy) {
    const { key, ...rest } = s.rng.numpy;
    tensors.push(["rng.numpy.key", { dtype: "U32", shape: [key.length], data: Uint32Array.from(key) }]);
    rng.numpy = rest;
  }
  for (const [name, a] of Object.entries(s.arrays)) tensors.push([`run.${name}`, a]);
  return {
    tensors,
    json: {
      state_file: stateFile,
      optimizer: { type: "adam", ...hyper, steps: state.map((p) => p.step) },
      rng,
      arrays: Object.keys(s.arrays),
    },
  };
}

function unpackTraining(json: Record<string, unknown>, tensors: Map<string, NamedArray>, file: string): TrainingState {
  const get = (name: string): NamedArray => {
    const t = tensors.get(name);
    if (!t) throw new DataError(file, `the training state has no tensor '${name}'`);
    return t;
  };
  const opt = json.optimizer as Omit<AdamStateDict, "state"> & { steps?: number[] };
  if (!opt || !Array.isArray(opt.steps)) throw new DataError(file, "the sidecar's training entry has no optimizer steps");
  const { steps, ...hyper } = opt;
  delete (hyper as { type?: string }).type;
  const optimizer: AdamStateDict = {
    ...hyper,
    state: steps.map((step, i) => step === 0
      ? { step, expAvg: new Float32Array(0), expAvgSq: new Float32Array(0) }
      : { step, expAvg: get(`optimizer.state.${i}.exp_avg`).data as Float32Array, expAvgSq: get(`optimizer.state.${i}.exp_avg_sq`).data as Float32Array }),
  };
  const rng: TrainingState["rng"] = {};
  const saved = (json.rng ?? {}) as { torch?: Omit<TorchGeneratorState, "mt"> & { pos: number }; numpy?: Omit<NumpyRandomStateState, "key"> };
  if (saved.torch) {
    const { pos, ...rest } = saved.torch;
    rng.torch = { ...rest, mt: { key: Array.from(get("rng.torch.key").data), pos } };
  }
  if (saved.numpy) rng.numpy = { ...saved.numpy, key: Array.from(get("rng.numpy.key").data) };
  const arrays: Record<string, NamedArray> = {};
  for (const name of (json.arrays ?? []) as string[]) arrays[name] = get(`run.${name}`);
  return { optimizer, rng, arrays };
}

/**
 * Writes FILE.safetensors and FILE.json, and FILE.optim.safetensors when `training` is given
 * (a resumable checkpoint; without it, the checkpoint holds a model only).
 */
export function saveCheckpoint(path: string, model: Module, meta: CheckpointMeta, training?: TrainingState): CheckpointPaths {
  const p = checkpointPaths(path);
  const saveId = `${Date.now().toString(36)}-${process.pid}-${++saveCounter}`;
  const { format: _old, ...fields } = meta;
  const side: Record<string, unknown> = { format: CHECKPOINT_FORMAT, save_id: saveId, ...fields };
  if (training) {
    const packed = packTraining(training, basename(p.state));
    writeFileAtomic(p.state, encodeSafetensors(packed.tensors, { format: "xt-training-state", xt_save_id: saveId }));
    side.training = packed.json;
  }
  const weights = encodeSafetensors([...model.stateDict()].map(([name, t]) => [name, toNamed(t)]), { format: "pt", producer: "xt", xt_save_id: saveId });
  writeFileAtomic(p.weights, weights);
  writeFileAtomic(p.sidecar, jsonText(side));
  return p;
}

export interface LoadedCheckpoint {
  paths: CheckpointPaths;
  weights: Map<string, Tensor>;
  meta: CheckpointMeta;
  /** Whether the checkpoint has a training state to resume from. */
  resumable: boolean;
  /** The training state, when asked for and present (null otherwise). */
  training: TrainingState | null;
}

export interface LoadOptions {
  /** Read the training state too (default false: a model is enough); "if-present": when its file is there. */
  training?: boolean | "if-present";
  /** With a folder: which checkpoint in it (default best, for --resume last). */
  prefer?: "best" | "last";
  /** The kind expected ("vit", "captioning"): another kind is an error before anything else is read. */
  kind?: string;
  /** How the kind is named in that error ("ViT", "captioning"). */
  kindName?: string;
}

function readJson(file: string): Record<string, unknown> {
  try {
    return JSON.parse(readFileSync(file, "utf8"));
  } catch (e) {
    throw new DataError(file, `not valid JSON (${(e as Error).message})`);
  }
}

function checkSameSave(file: string, metadata: Record<string, string>, saveId: unknown, sidecar: string): void {
  const id = metadata.xt_save_id;
  if (id !== undefined && saveId !== undefined && id !== saveId) {
    throw new DataError(file, `comes from another save than its sidecar ${sidecar} (a copy of one file, or a write cut short); save the checkpoint again`);
  }
}

export function loadCheckpoint(path: string, opts: LoadOptions = {}): LoadedCheckpoint {
  const p = checkpointPaths(path, opts.prefer);
  if (!existsSync(p.weights)) throw new DataError(p.weights, "checkpoint file not found");
  if (!existsSync(p.sidecar)) throw new DataError(p.sidecar, `checkpoint sidecar not found (it is written next to ${p.weights})`);
  const raw = readJson(p.sidecar);
  if (raw.format !== CHECKPOINT_FORMAT && raw.format !== FORMAT_1) {
    throw new DataError(p.sidecar, `unknown checkpoint format '${raw.format}' (expected ${CHECKPOINT_FORMAT} or ${FORMAT_1})`);
  }
  if (opts.kind !== undefined && raw.kind !== opts.kind) {
    throw new DataError(p.weights, `is a ${JSON.stringify(raw.kind)} checkpoint, not a ${opts.kindName ?? opts.kind} one`);
  }
  const { tensors, metadata } = decodeSafetensors(p.weights, new Uint8Array(readFileSync(p.weights)));
  checkSameSave(p.weights, metadata, raw.save_id, p.sidecar);
  const weights = new Map<string, Tensor>();
  for (const [name, a] of tensors) weights.set(name, fromArray(a.data, a.shape, a.dtype === "F64" ? "float64" : a.dtype === "I32" ? "int32" : "float32"));
  const { training: trainingJson, optimizer: optimizer1, rng: rng1, save_id: _id, ...meta } = raw;
  let training: TrainingState | null = null;
  if (raw.format === FORMAT_1) {
    if (opts.training && optimizer1) training = trainingFromFormat1(optimizer1 as StoredOptimizer1, (rng1 ?? {}) as TrainingState["rng"]);
  } else if (opts.training && trainingJson && (opts.training === true || existsSync(p.state))) {
    if (!existsSync(p.state)) throw new DataError(p.state, `training state not found (written next to ${p.weights}); it is needed to resume`);
    const st = decodeSafetensors(p.state, new Uint8Array(readFileSync(p.state)));
    checkSameSave(p.state, st.metadata, raw.save_id, p.sidecar);
    training = unpackTraining(trainingJson as Record<string, unknown>, st.tensors, p.state);
  }
  const resumable = raw.format === FORMAT_1 ? optimizer1 !== undefined : trainingJson !== undefined;
  return { paths: p, weights, meta: meta as unknown as CheckpointMeta, resumable, training };
}

type StoredOptimizer1 = Omit<AdamStateDict, "state"> & { state: { step: number; expAvg: string; expAvgSq: string }[] };

function base64ToF32(s: string): Float32Array {
  const b = Buffer.from(s, "base64");
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

/** xt-checkpoint/1 kept Adam's moments as base64 in the sidecar and the RNG states whole. */
function trainingFromFormat1(o: StoredOptimizer1, rng: TrainingState["rng"]): TrainingState {
  return {
    optimizer: { ...o, state: o.state.map((s) => ({ step: s.step, expAvg: base64ToF32(s.expAvg), expAvgSq: base64ToF32(s.expAvgSq) })) },
    rng,
    arrays: {},
  };
}
