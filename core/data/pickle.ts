/**
 * A small unpickler for exactly the pickles xt reads: the CIFAR-10 python batches (Python 2
 * cPickle, protocol 2: a dict of str keys, a numpy uint8 array built through
 * numpy.core.multiarray._reconstruct + ndarray.__setstate__, lists of ints and strings) and the
 * same dicts written by Python 3 `pickle.dump(..., protocol=2)` (bytes/str keys; numpy's byte
 * payloads then arrive as `_codecs.encode(<str>, 'latin1')`). Opcodes of protocols 0–2 that
 * such files use are supported; any other opcode, or a global other than the few needed, is a
 * DataError naming it. Nothing is ever executed.
 */
import { DataError } from "../errors.ts";
import { latin1 } from "./io.ts";

/** A Python 2 `str` / Python 3 `bytes` value. */
export class PyBytes {
  constructor(readonly bytes: Uint8Array) {}
  toString(): string {
    return latin1(this.bytes);
  }
}

/** A Python tuple (kept apart from lists). */
export class PyTuple {
  constructor(readonly items: PyValue[]) {}
}

/** A Python dict; keys are normalised to strings (bytes keys decoded as Latin-1). */
export class PyDict {
  readonly map = new Map<string, PyValue>();
  get(key: string): PyValue | undefined {
    return this.map.get(key);
  }
  has(key: string): boolean {
    return this.map.has(key);
  }
  keys(): string[] {
    return [...this.map.keys()];
  }
}

/** A reference to a module-level name, as GLOBAL pushes it. */
export class PyGlobal {
  constructor(readonly module: string, readonly name: string) {}
  get qualified(): string {
    return `${this.module}.${this.name}`;
  }
}

/** A numpy dtype as pickled (`numpy.dtype('u1', False, True)` + its state). */
export class NpDtype {
  byteorder = "|";
  constructor(readonly descr: string) {}
  /** Bytes per element, from the descr ('u1', 'i4', 'f8', ...). */
  get itemsize(): number {
    const m = /^[a-zA-Z]+(\d+)$/.exec(this.descr);
    return m ? Number(m[1]) : this.descr === "b1" ? 1 : NaN;
  }
  /** e.g. '|u1', '<i8'. */
  get str(): string {
    return `${this.byteorder}${this.descr}`;
  }
}

/** A numpy ndarray: shape, dtype and its raw (C- or Fortran-order) bytes. */
export class NpArray {
  shape: number[] = [];
  dtype: NpDtype | null = null;
  fortranOrder = false;
  data: Uint8Array = new Uint8Array(0);
  built = false;
  get size(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }
}

export type PyValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | PyBytes
  | PyTuple
  | PyDict
  | PyGlobal
  | NpDtype
  | NpArray
  | PyValue[];

const MARK = Symbol("mark");
type StackItem = PyValue | typeof MARK;

const OPCODE_NAMES: Record<number, string> = {
  0x28: "MARK", 0x2e: "STOP", 0x30: "POP", 0x31: "POP_MARK", 0x32: "DUP", 0x46: "FLOAT",
  0x49: "INT", 0x4a: "BININT", 0x4b: "BININT1", 0x4c: "LONG", 0x4d: "BININT2", 0x4e: "NONE",
  0x50: "PERSID", 0x51: "BINPERSID", 0x52: "REDUCE", 0x53: "STRING", 0x54: "BINSTRING",
  0x55: "SHORT_BINSTRING", 0x56: "UNICODE", 0x58: "BINUNICODE", 0x61: "APPEND", 0x62: "BUILD",
  0x63: "GLOBAL", 0x64: "DICT", 0x7d: "EMPTY_DICT", 0x65: "APPENDS", 0x67: "GET", 0x68: "BINGET",
  0x69: "INST", 0x6a: "LONG_BINGET", 0x6c: "LIST", 0x5d: "EMPTY_LIST", 0x6f: "OBJ", 0x70: "PUT",
  0x71: "BINPUT", 0x72: "LONG_BINPUT", 0x73: "SETITEM", 0x74: "TUPLE", 0x29: "EMPTY_TUPLE",
  0x75: "SETITEMS", 0x47: "BINFLOAT", 0x80: "PROTO", 0x81: "NEWOBJ", 0x82: "EXT1", 0x83: "EXT2",
  0x84: "EXT4", 0x85: "TUPLE1", 0x86: "TUPLE2", 0x87: "TUPLE3", 0x88: "NEWTRUE",
  0x89: "NEWFALSE", 0x8a: "LONG1", 0x8b: "LONG4", 0x42: "BINBYTES", 0x43: "SHORT_BINBYTES",
  0x8c: "SHORT_BINUNICODE", 0x8d: "BINUNICODE8", 0x8e: "BINBYTES8", 0x8f: "EMPTY_SET",
  0x90: "ADDITEMS", 0x91: "FROZENSET", 0x92: "NEWOBJ_EX", 0x93: "STACK_GLOBAL", 0x94: "MEMOIZE",
  0x95: "FRAME", 0x96: "BYTEARRAY8", 0x97: "NEXT_BUFFER", 0x98: "READONLY_BUFFER",
};

function opcodeName(op: number): string {
  const name = OPCODE_NAMES[op];
  const printable = op >= 0x20 && op < 0x7f ? ` '${String.fromCharCode(op)}'` : "";
  return name ? `${name} (0x${op.toString(16).padStart(2, "0")}${printable})`
    : `unknown opcode 0x${op.toString(16).padStart(2, "0")}${printable}`;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

function describe(v: StackItem | undefined): string {
  if (v === MARK) return "MARK";
  if (v === undefined) return "nothing";
  if (v === null) return "None";
  if (Array.isArray(v)) return "list";
  if (v instanceof PyBytes) return "bytes";
  if (v instanceof PyTuple) return "tuple";
  if (v instanceof PyDict) return "dict";
  if (v instanceof PyGlobal) return `global ${v.qualified}`;
  if (v instanceof NpDtype) return "numpy dtype";
  if (v instanceof NpArray) return "numpy array";
  return typeof v;
}

/** Python-level string of a str or bytes value (bytes decoded as Latin-1), else null. */
export function pyString(v: PyValue | undefined): string | null {
  if (typeof v === "string") return v;
  if (v instanceof PyBytes) return v.toString();
  return null;
}

/** Parses one pickle. `file` names the file in every error. */
export function unpickle(file: string, bytes: Uint8Array): PyValue {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const stack: StackItem[] = [];
  const memo = new Map<number, PyValue>();
  let pos = 0;
  let opStart = 0;
  let op = 0;

  const fail = (problem: string): never => {
    throw new DataError(file, `corrupt pickle: ${problem} (opcode ${opcodeName(op)} at byte ${opStart})`);
  };
  const need = (n: number): void => {
    if (n < 0) fail(`negative length ${n}`);
    if (pos + n > bytes.length) {
      throw new DataError(
        file,
        `truncated pickle: opcode ${opcodeName(op)} at byte ${opStart} needs ${n} more bytes, the file ends at byte ${bytes.length}`,
      );
    }
  };
  const u8 = (): number => { need(1); return bytes[pos++]!; };
  const u16 = (): number => { need(2); const v = view.getUint16(pos, true); pos += 2; return v; };
  const i32 = (): number => { need(4); const v = view.getInt32(pos, true); pos += 4; return v; };
  const u32 = (): number => { need(4); const v = view.getUint32(pos, true); pos += 4; return v; };
  const take = (n: number): Uint8Array => { need(n); const v = bytes.subarray(pos, pos + n); pos += n; return v; };
  const line = (): string => {
    const end = bytes.indexOf(0x0a, pos);
    if (end < 0) {
      throw new DataError(file, `truncated pickle: opcode ${opcodeName(op)} at byte ${opStart} has no end of line before the end of the file`);
    }
    const s = latin1(bytes.subarray(pos, end));
    pos = end + 1;
    return s;
  };
  const text = (b: Uint8Array): string => {
    try {
      return utf8.decode(b);
    } catch {
      return fail("invalid UTF-8 in a unicode string");
    }
  };
  const pop = (): PyValue => {
    const v = stack.pop();
    if (v === undefined) return fail("stack underflow");
    if (v === MARK) return fail("unexpected MARK on the stack");
    return v as PyValue;
  };
  const top = (): PyValue => {
    const v = stack[stack.length - 1];
    if (v === undefined) return fail("stack underflow");
    if (v === MARK) return fail("unexpected MARK on the stack");
    return v as PyValue;
  };
  const popMark = (): PyValue[] => {
    let k = stack.length - 1;
    while (k >= 0 && stack[k] !== MARK) k--;
    if (k < 0) return fail("no MARK on the stack");
    const items = stack.splice(k + 1) as PyValue[];
    stack.pop();
    return items;
  };
  const dictKey = (k: PyValue): string => {
    if (typeof k === "string") return k;
    if (k instanceof PyBytes) return k.toString();
    if (typeof k === "number" || typeof k === "bigint") return String(k);
    return fail(`unsupported dict key of type ${describe(k)}`);
  };
  const setItems = (d: PyValue, kv: PyValue[]): void => {
    if (!(d instanceof PyDict)) fail(`SETITEM(S) on a ${describe(d)}, expected a dict`);
    if (kv.length % 2 !== 0) fail("odd number of items for SETITEMS");
    for (let i = 0; i < kv.length; i += 2) (d as PyDict).map.set(dictKey(kv[i]!), kv[i + 1]!);
  };
  const appendItems = (l: PyValue, items: PyValue[]): void => {
    if (!Array.isArray(l)) fail(`APPEND(S) on a ${describe(l)}, expected a list`);
    (l as PyValue[]).push(...items);
  };
  const getMemo = (i: number): PyValue => {
    if (!memo.has(i)) fail(`memo entry ${i} was never stored`);
    return memo.get(i)!;
  };
  const signedLE = (b: Uint8Array): number | bigint => {
    if (b.length === 0) return 0;
    let v = 0n;
    for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
    if (b[b.length - 1]! & 0x80) v -= 1n << BigInt(8 * b.length);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  };

  const reduce = (fn: PyValue, args: PyValue): PyValue => {
    if (!(fn instanceof PyGlobal)) return fail(`REDUCE of a ${describe(fn)}, expected a global`);
    if (!(args instanceof PyTuple)) return fail(`REDUCE arguments are a ${describe(args)}, expected a tuple`);
    const a = args.items;
    switch (fn.qualified) {
      case "numpy.core.multiarray._reconstruct":
      case "numpy._core.multiarray._reconstruct": {
        const cls = a[0];
        if (!(cls instanceof PyGlobal) || cls.name !== "ndarray") {
          return fail(`_reconstruct of ${describe(cls)}, only numpy.ndarray is supported`);
        }
        return new NpArray();
      }
      case "numpy.dtype": {
        const descr = pyString(a[0]);
        if (descr === null) return fail("numpy.dtype without a type string");
        return new NpDtype(descr);
      }
      case "_codecs.encode": {
        const s = a[0];
        const enc = pyString(a[1])?.toLowerCase().replace("_", "-");
        if (typeof s !== "string") return fail(`_codecs.encode of a ${describe(s)}`);
        if (enc === "latin1" || enc === "latin-1" || enc === "iso-8859-1") {
          const out = new Uint8Array(s.length);
          for (let i = 0; i < s.length; i++) {
            const c = s.charCodeAt(i);
            if (c > 255) return fail("_codecs.encode: character outside Latin-1");
            out[i] = c;
          }
          return new PyBytes(out);
        }
        if (enc === "utf-8" || enc === "utf8") return new PyBytes(new TextEncoder().encode(s));
        return fail(`_codecs.encode with unsupported encoding '${enc}'`);
      }
      case "__builtin__.bytes":
      case "builtins.bytes":
        if (a.length === 0) return new PyBytes(new Uint8Array(0));
        return fail("bytes(...) with arguments is not supported");
      default:
        return fail(`unsupported global ${fn.qualified}`);
    }
  };

  const build = (obj: PyValue, state: PyValue): void => {
    if (obj instanceof NpDtype) {
      if (!(state instanceof PyTuple) || state.items.length < 2) fail("numpy dtype state is not a tuple");
      const order = pyString((state as PyTuple).items[1]);
      if (order !== null) obj.byteorder = order;
      return;
    }
    if (obj instanceof NpArray) {
      if (!(state instanceof PyTuple)) return fail(`ndarray state is a ${describe(state)}, expected a tuple`);
      let items = state.items;
      if (items.length === 5) items = items.slice(1); // (version, shape, dtype, fortran, data)
      if (items.length !== 4) return fail(`ndarray state has ${state.items.length} items, expected 4 or 5`);
      const [shape, dtype, fortran, raw] = items;
      if (!(shape instanceof PyTuple) || !shape.items.every((d) => typeof d === "number" && Number.isInteger(d) && d >= 0)) {
        return fail("ndarray shape is not a tuple of non-negative ints");
      }
      if (!(dtype instanceof NpDtype)) return fail(`ndarray dtype is a ${describe(dtype)}`);
      obj.shape = shape.items as number[];
      obj.dtype = dtype;
      obj.fortranOrder = fortran === true || fortran === 1;
      let data: Uint8Array;
      if (raw instanceof PyBytes) data = raw.bytes;
      else if (typeof raw === "string") {
        data = new Uint8Array(raw.length);
        for (let i = 0; i < raw.length; i++) data[i] = raw.charCodeAt(i) & 0xff;
      } else return fail(`ndarray payload is a ${describe(raw)}, expected bytes (object arrays are not supported)`);
      const want = obj.size * dtype.itemsize;
      if (data.length !== want) {
        throw new DataError(
          file,
          `corrupt pickle: numpy array of shape (${obj.shape.join(", ")}) and dtype ${dtype.str} needs ${want} bytes, its payload has ${data.length}`,
        );
      }
      obj.data = data;
      obj.built = true;
      return;
    }
    fail(`BUILD on a ${describe(obj)} is not supported`);
  };

  while (true) {
    opStart = pos;
    if (pos >= bytes.length) {
      throw new DataError(file, bytes.length === 0 ? "empty file, not a pickle" : `truncated pickle: the file ends at byte ${bytes.length} before the STOP opcode`);
    }
    op = bytes[pos++]!;
    switch (op) {
      case 0x80: { // PROTO
        const v = u8();
        if (v > 2) fail(`pickle protocol ${v} is not supported (only protocols 0-2, as the CIFAR-10 files use)`);
        break;
      }
      case 0x2e: { // STOP
        if (stack.length !== 1) fail(`STOP with ${stack.length} items on the stack`);
        return pop();
      }
      case 0x28: stack.push(MARK); break;
      case 0x7d: stack.push(new PyDict()); break; // EMPTY_DICT
      case 0x5d: stack.push([]); break; // EMPTY_LIST
      case 0x29: stack.push(new PyTuple([])); break; // EMPTY_TUPLE
      case 0x4e: stack.push(null); break; // NONE
      case 0x88: stack.push(true); break; // NEWTRUE
      case 0x89: stack.push(false); break; // NEWFALSE
      case 0x4b: stack.push(u8()); break; // BININT1
      case 0x4d: stack.push(u16()); break; // BININT2
      case 0x4a: stack.push(i32()); break; // BININT
      case 0x8a: stack.push(signedLE(take(u8()))); break; // LONG1
      case 0x47: { // BINFLOAT (big-endian double)
        need(8);
        stack.push(view.getFloat64(pos, false));
        pos += 8;
        break;
      }
      case 0x55: stack.push(new PyBytes(take(u8()))); break; // SHORT_BINSTRING
      case 0x54: stack.push(new PyBytes(take(i32()))); break; // BINSTRING
      case 0x58: stack.push(text(take(u32()))); break; // BINUNICODE
      case 0x71: memo.set(u8(), top()); break; // BINPUT
      case 0x72: memo.set(u32(), top()); break; // LONG_BINPUT
      case 0x68: stack.push(getMemo(u8())); break; // BINGET
      case 0x6a: stack.push(getMemo(u32())); break; // LONG_BINGET
      case 0x70: { // PUT (protocol 0)
        const k = Number(line());
        if (!Number.isInteger(k)) fail("PUT with a non-integer key");
        memo.set(k, top());
        break;
      }
      case 0x67: { // GET (protocol 0)
        const k = Number(line());
        if (!Number.isInteger(k)) fail("GET with a non-integer key");
        stack.push(getMemo(k));
        break;
      }
      case 0x63: { // GLOBAL
        const module = line();
        const name = line();
        stack.push(new PyGlobal(module, name));
        break;
      }
      case 0x85: stack.push(new PyTuple([pop()])); break; // TUPLE1
      case 0x86: { const b = pop(); const a = pop(); stack.push(new PyTuple([a, b])); break; } // TUPLE2
      case 0x87: { const c = pop(); const b = pop(); const a = pop(); stack.push(new PyTuple([a, b, c])); break; }
      case 0x74: stack.push(new PyTuple(popMark())); break; // TUPLE
      case 0x6c: stack.push(popMark()); break; // LIST
      case 0x64: { const d = new PyDict(); setItems(d, popMark()); stack.push(d); break; } // DICT
      case 0x61: { const v = pop(); appendItems(top(), [v]); break; } // APPEND
      case 0x65: { const items = popMark(); appendItems(top(), items); break; } // APPENDS
      case 0x73: { const v = pop(); const k = pop(); setItems(top(), [k, v]); break; } // SETITEM
      case 0x75: { const kv = popMark(); setItems(top(), kv); break; } // SETITEMS
      case 0x52: { const args = pop(); const fn = pop(); stack.push(reduce(fn, args)); break; } // REDUCE
      case 0x62: { const state = pop(); build(top(), state); break; } // BUILD
      case 0x30: pop(); break; // POP
      case 0x31: popMark(); break; // POP_MARK
      case 0x32: stack.push(top()); break; // DUP
      default:
        throw new DataError(file, `unsupported pickle opcode ${opcodeName(op)} at byte ${opStart}`);
    }
  }
}
