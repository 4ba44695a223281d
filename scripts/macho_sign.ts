/**
 * Ad-hoc code signing of a 64-bit Mach-O executable, without macOS: what `codesign --sign -` does
 * for a plain program (a linker-signed ad-hoc CodeDirectory of SHA-256 page hashes, no requirements,
 * no certificate), written over the LC_CODE_SIGNATURE the file already has.
 *
 * Why: `bun build --compile --target=bun-darwin-x64` (Bun 1.4.4) leaves Bun's own Developer ID
 * signature in place over a file whose pages it changed (oven-sh/bun#39837), and macOS refuses a
 * program whose signature does not match. The darwin-arm64 output is signed correctly by Bun;
 * build-release.ts checks that this signer reproduces that signature byte for byte before it trusts
 * it with the x64 binary.
 */

const LC_SEGMENT_64 = 0x19;
const LC_CODE_SIGNATURE = 0x1d;
const CPU_TYPE_ARM64 = 0x0100000c;
const PAGE = 4096;
/** CodeDirectory version 0x20400 (with the exec-segment fields): its header is 88 bytes. */
const CD_HEADER = 88;
const CS_ADHOC = 0x2;
const CS_LINKER_SIGNED = 0x20000;
const CS_EXECSEG_MAIN_BINARY = 0x1;

interface Segment {
  name: string;
  /** Offset of the load command in the file. */
  at: number;
  fileoff: number;
  filesize: number;
}

function segments(dv: DataView): { segs: Segment[]; sigCmd: number | null } {
  const ncmds = dv.getUint32(16, true);
  const segs: Segment[] = [];
  let sigCmd: number | null = null;
  let off = 32;
  for (let i = 0; i < ncmds; i++) {
    const cmd = dv.getUint32(off, true);
    if (cmd === LC_SEGMENT_64) {
      let name = "";
      for (let k = 0; k < 16; k++) {
        const c = dv.getUint8(off + 8 + k);
        if (c === 0) break;
        name += String.fromCharCode(c);
      }
      segs.push({ name, at: off, fileoff: Number(dv.getBigUint64(off + 40, true)), filesize: Number(dv.getBigUint64(off + 48, true)) });
    } else if (cmd === LC_CODE_SIGNATURE) {
      sigCmd = off;
    }
    off += dv.getUint32(off + 4, true);
  }
  return { segs, sigCmd };
}

/**
 * The file re-signed ad hoc (a new buffer; the input is not changed). The signature stays where the
 * old one began, so everything before it — headers, code, Bun's embedded bundle — is what is signed.
 */
export function adhocSign(input: Uint8Array, identifier = "a.out"): Uint8Array {
  const inDv = new DataView(input.buffer, input.byteOffset, input.byteLength);
  if (input.length < 32 || inDv.getUint32(0, true) !== 0xfeedfacf) throw new Error("not a 64-bit Mach-O file");
  const { segs, sigCmd } = segments(inDv);
  if (sigCmd === null) throw new Error("no LC_CODE_SIGNATURE load command to sign into");
  const text = segs.find((s) => s.name === "__TEXT");
  const linkedit = segs.find((s) => s.name === "__LINKEDIT");
  if (!text || !linkedit) throw new Error("no __TEXT or __LINKEDIT segment");

  const codeLimit = inDv.getUint32(sigCmd + 8, true);
  const ident = new TextEncoder().encode(`${identifier}\0`);
  const nCode = Math.ceil(codeLimit / PAGE);
  const cdLength = CD_HEADER + ident.length + nCode * 32;
  const sigLength = 12 + 8 + cdLength;

  const out = new Uint8Array(codeLimit + sigLength);
  out.set(input.subarray(0, codeLimit));
  const dv = new DataView(out.buffer);
  // The load commands are inside page 0, so fix them before hashing.
  dv.setUint32(sigCmd + 12, sigLength, true);
  const linkeditSize = codeLimit + sigLength - linkedit.fileoff;
  const vmPage = dv.getUint32(4, true) === CPU_TYPE_ARM64 ? 0x4000 : 0x1000;
  dv.setBigUint64(linkedit.at + 32, BigInt(Math.ceil(linkeditSize / vmPage) * vmPage), true);
  dv.setBigUint64(linkedit.at + 48, BigInt(linkeditSize), true);

  // SuperBlob (big-endian): one CodeDirectory.
  let p = codeLimit;
  dv.setUint32(p, 0xfade0cc0);
  dv.setUint32(p + 4, sigLength);
  dv.setUint32(p + 8, 1);
  dv.setUint32(p + 12, 0); // CSSLOT_CODEDIRECTORY
  dv.setUint32(p + 16, 20);
  p += 20;
  const hashOffset = CD_HEADER + ident.length;
  dv.setUint32(p, 0xfade0c02);
  dv.setUint32(p + 4, cdLength);
  dv.setUint32(p + 8, 0x20400);
  dv.setUint32(p + 12, CS_ADHOC | CS_LINKER_SIGNED);
  dv.setUint32(p + 16, hashOffset);
  dv.setUint32(p + 20, CD_HEADER); // identOffset
  dv.setUint32(p + 24, 0); // nSpecialSlots
  dv.setUint32(p + 28, nCode);
  dv.setUint32(p + 32, codeLimit);
  dv.setUint8(p + 36, 32); // hashSize
  dv.setUint8(p + 37, 2); // SHA-256
  dv.setUint8(p + 38, 0); // platform
  dv.setUint8(p + 39, 12); // log2(page size)
  // spare2, scatterOffset, teamOffset, spare3, codeLimit64 and execSegBase stay 0.
  dv.setBigUint64(p + 72, BigInt(text.filesize)); // execSegLimit
  dv.setBigUint64(p + 80, BigInt(CS_EXECSEG_MAIN_BINARY));
  out.set(ident, p + CD_HEADER);
  for (let k = 0; k < nCode; k++) {
    const page = out.subarray(k * PAGE, Math.min((k + 1) * PAGE, codeLimit));
    out.set(new Bun.CryptoHasher("sha256").update(page).digest(), p + hashOffset + k * 32);
  }
  return out;
}
