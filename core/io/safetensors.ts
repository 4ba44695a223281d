/**
 * The safetensors format (8-byte little-endian header length, JSON header, raw little-endian
 * data), so PyTorch users can `safetensors.torch.load_file` xt's weights.
 */
import { DataError } from "../errors.ts";

export interface NamedArray {
  dtype: "F32" | "F64" | "I32" | "U32";
  shape: number[];
  data: Float32Array | Float64Array | Int32Array | Uint32Array;
}

const BYTES = { F32: 4, F64: 8, I32: 4, U32: 4 } as const;

export function encodeSafetensors(tensors: [string, NamedArray][], metadata: Record<string, string> = {}): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const [name, t] of tensors) {
    const n = t.data.length * BYTES[t.dtype];
    header[name] = { dtype: t.dtype, shape: t.shape, data_offsets: [offset, offset + n] };
    offset += n;
  }
  let json = JSON.stringify(header);
  // Pad the header with spaces so the data starts 8-byte aligned (as the reference writer does).
  json += " ".repeat((8 - ((8 + json.length) % 8)) % 8);
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  let at = 8 + headerBytes.length;
  for (const [, t] of tensors) {
    const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    out.set(bytes, at);
    at += bytes.length;
  }
  return out;
}

export function decodeSafetensors(file: string, buf: Uint8Array): { tensors: Map<string, NamedArray>; metadata: Record<string, string> } {
  if (buf.length < 8) throw new DataError(file, "too short to be a safetensors file");
  const n = Number(new DataView(buf.buffer, buf.byteOffset).getBigUint64(0, true));
  if (n > buf.length - 8) throw new DataError(file, `header length ${n} exceeds the file size (${buf.length} bytes): truncated or not safetensors`);
  let header: Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] } | Record<string, string>>;
  try {
    header = JSON.parse(new TextDecoder().decode(buf.subarray(8, 8 + n)));
  } catch {
    throw new DataError(file, "the safetensors header is not valid JSON");
  }
  const base = 8 + n;
  const tensors = new Map<string, NamedArray>();
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header)) {
    if (name === "__metadata__") {
      metadata = entry as Record<string, string>;
      continue;
    }
    const e = entry as { dtype: string; shape: number[]; data_offsets: [number, number] };
    if (!(e.dtype in BYTES)) throw new DataError(file, `tensor ${name} has unsupported dtype ${e.dtype}`);
    const dtype = e.dtype as NamedArray["dtype"];
    const [b, end] = e.data_offsets;
    const count = e.shape.reduce((p, d) => p * d, 1);
    if (end - b !== count * BYTES[dtype] || base + end > buf.length) {
      throw new DataError(file, `tensor ${name}: data range [${b}, ${end}) does not fit shape [${e.shape}] or the file (truncated?)`);
    }
    const bytes = buf.slice(base + b, base + end);
    const data = dtype === "F32" ? new Float32Array(bytes.buffer) : dtype === "F64" ? new Float64Array(bytes.buffer)
      : dtype === "I32" ? new Int32Array(bytes.buffer) : new Uint32Array(bytes.buffer);
    tensors.set(name, { dtype, shape: e.shape, data });
  }
  return { tensors, metadata };
}
