/**
 * The platforms `npm run build:release` (scripts/build-release.ts) compiles xt for, and the checks
 * it makes on each binary: the executable format and CPU in its header, and the native libraries
 * Bun embedded in it (each `/$bunfs/root/<name>-<hash>.node` entry must be built for the binary's
 * platform; the loaders make sure of that, this makes it visible and fails the build otherwise).
 */

export interface ReleaseTarget {
  /** Our name for it, also the binary's suffix: xt-linux-x64, …, xt-windows-x64.exe. */
  name: string;
  /** `bun build --compile --target=…` */
  bunTarget: string;
  /** @napi-rs/cli's platform name, the middle of xt_cpu.<platform>.node. */
  napiPlatform: string;
  /** What the header must say (see executableFormat). */
  format: string;
  file: string;
}

export const RELEASE_TARGETS: readonly ReleaseTarget[] = [
  { name: "linux-x64", bunTarget: "bun-linux-x64", napiPlatform: "linux-x64-gnu", format: "ELF x86-64", file: "xt-linux-x64" },
  { name: "linux-arm64", bunTarget: "bun-linux-arm64", napiPlatform: "linux-arm64-gnu", format: "ELF aarch64", file: "xt-linux-arm64" },
  { name: "darwin-arm64", bunTarget: "bun-darwin-arm64", napiPlatform: "darwin-arm64", format: "Mach-O arm64", file: "xt-darwin-arm64" },
  { name: "darwin-x64", bunTarget: "bun-darwin-x64", napiPlatform: "darwin-x64", format: "Mach-O x86-64", file: "xt-darwin-x64" },
  { name: "windows-x64", bunTarget: "bun-windows-x64", napiPlatform: "win32-x64-msvc", format: "PE x86-64", file: "xt-windows-x64.exe" },
];

/** The executable format and CPU a file's header names ("ELF x86-64", "Mach-O arm64", "PE x86-64"), or null. */
export function executableFormat(head: Uint8Array): string | null {
  const dv = new DataView(head.buffer, head.byteOffset, head.byteLength);
  if (head.length >= 20 && head[0] === 0x7f && head[1] === 0x45 && head[2] === 0x4c && head[3] === 0x46) {
    const little = head[5] === 1;
    const machine = dv.getUint16(18, little);
    const cpu = ({ 0x3e: "x86-64", 0xb7: "aarch64" } as Record<number, string>)[machine] ?? `machine 0x${machine.toString(16)}`;
    return `ELF ${cpu}`;
  }
  if (head.length >= 8 && dv.getUint32(0, true) === 0xfeedfacf) {
    const cpu = ({ 0x01000007: "x86-64", 0x0100000c: "arm64" } as Record<number, string>)[dv.getUint32(4, true)] ?? "unknown CPU";
    return `Mach-O ${cpu}`;
  }
  if (head.length >= 0x40 && head[0] === 0x4d && head[1] === 0x5a) {
    const pe = dv.getUint32(0x3c, true);
    if (pe + 6 <= head.length && dv.getUint32(pe, true) === 0x00004550) {
      const machine = dv.getUint16(pe + 4, true);
      const cpu = ({ 0x8664: "x86-64", 0xaa64: "arm64" } as Record<number, string>)[machine] ?? `machine 0x${machine.toString(16)}`;
      return `PE ${cpu}`;
    }
  }
  return null;
}

/** The native libraries embedded in a compiled binary: `xt_cpu.linux-x64-gnu.node`, … (Bun's hash removed). */
export function embeddedNativeLibraries(binary: Uint8Array): string[] {
  // latin1 keeps one character per byte, so the regex sees the raw bytes.
  const text = Buffer.from(binary.buffer, binary.byteOffset, binary.byteLength).toString("latin1");
  const found = new Set<string>();
  for (const m of text.matchAll(/\/\$bunfs\/root\/([A-Za-z0-9_.-]+)-[a-z0-9]{8}\.node/g)) found.add(`${m[1]}.node`);
  return [...found].sort();
}

/** The embedded libraries built for another platform than `target` (must be none). */
export function foreignLibraries(target: ReleaseTarget, embedded: readonly string[]): string[] {
  return embedded.filter((f) => !f.endsWith(`.${target.napiPlatform}.node`));
}

/**
 * Whether a 64-bit Mach-O file carries a code signature whose page hashes match its bytes. Apple
 * silicon kills an arm64 program without a valid signature (an ad-hoc one suffices, and Bun writes
 * one when it compiles for macOS), so a binary whose bytes changed after signing would not start.
 */
export function machoSignatureValid(bytes: Uint8Array): { ok: boolean; why: string } {
  try {
    return checkSignature(bytes);
  } catch (e) {
    if (e instanceof RangeError) return { ok: false, why: "a load command or the signature points outside the file" };
    throw e;
  }
}

function checkSignature(bytes: Uint8Array): { ok: boolean; why: string } {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length < 32 || dv.getUint32(0, true) !== 0xfeedfacf) return { ok: false, why: "not a 64-bit Mach-O file" };
  const ncmds = dv.getUint32(16, true);
  let off = 32;
  for (let i = 0; i < ncmds; i++) {
    const cmd = dv.getUint32(off, true);
    if (cmd === 0x1d) {
      // LC_CODE_SIGNATURE → a big-endian SuperBlob holding the CodeDirectory.
      const sig = dv.getUint32(off + 8, true);
      if (dv.getUint32(sig, false) !== 0xfade0cc0) return { ok: false, why: "the signature is not a SuperBlob" };
      const count = dv.getUint32(sig + 8, false);
      for (let j = 0; j < count; j++) {
        const blob = sig + dv.getUint32(sig + 12 + 8 * j + 4, false);
        if (dv.getUint32(blob, false) !== 0xfade0c02) continue;
        const hashOffset = dv.getUint32(blob + 16, false);
        const nCodeSlots = dv.getUint32(blob + 28, false);
        const codeLimit = dv.getUint32(blob + 32, false);
        const hashSize = dv.getUint8(blob + 36);
        const hashType = dv.getUint8(blob + 37);
        const pageSize = 2 ** dv.getUint8(blob + 39);
        if (hashType !== 2 || hashSize !== 32) return { ok: false, why: `hash type ${hashType} (expected SHA-256)` };
        for (let k = 0; k < nCodeSlots; k++) {
          const page = bytes.subarray(k * pageSize, Math.min((k + 1) * pageSize, codeLimit));
          const want = bytes.subarray(blob + hashOffset + k * 32, blob + hashOffset + (k + 1) * 32);
          const got = new Bun.CryptoHasher("sha256").update(page).digest();
          if (!got.equals(want)) return { ok: false, why: `page ${k} does not match its signed hash` };
        }
        return { ok: true, why: `${nCodeSlots} pages signed` };
      }
      return { ok: false, why: "no CodeDirectory in the signature" };
    }
    off += dv.getUint32(off + 4, true);
  }
  return { ok: false, why: "no code signature" };
}

