/**
 * The platform names of the native libraries and the release binaries: the napi targets in
 * package.json, the npm/<platform> packages, the loaders' literal paths and backends/native_platform.ts
 * name the same files; the release checks read executable headers and embedded libraries right.
 */
import { describe, expect, test } from "bun:test";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadableHere } from "../backends/shared_libraries.ts";
import { napiPlatform, nativeFileName, requireFailed } from "../backends/native_platform.ts";
import { adhocSign } from "../scripts/macho_sign.ts";
import { embeddedNativeLibraries, executableFormat, foreignLibraries, machoSignatureValid, RELEASE_TARGETS } from "../scripts/release_targets.ts";

const ROOT = join(import.meta.dir, "..");
const readJson = (p: string) => JSON.parse(readFileSync(join(ROOT, p), "utf8"));

/** @napi-rs/cli's platform name for a Rust target triple (the ones xt uses). */
const NAPI_NAME: Record<string, string> = {
  "x86_64-unknown-linux-gnu": "linux-x64-gnu",
  "aarch64-unknown-linux-gnu": "linux-arm64-gnu",
  "aarch64-apple-darwin": "darwin-arm64",
  "x86_64-apple-darwin": "darwin-x64",
  "x86_64-pc-windows-msvc": "win32-x64-msvc",
};

describe("native library names", () => {
  const cases: [string, string, string][] = [
    ["linux", "x64", "linux-x64-gnu"], ["linux", "arm64", "linux-arm64-gnu"], ["darwin", "arm64", "darwin-arm64"],
    ["darwin", "x64", "darwin-x64"], ["win32", "x64", "win32-x64-msvc"],
  ];
  test("one napi platform per release platform; none for others", () => {
    for (const [os, arch, name] of cases) expect(napiPlatform(os, arch)).toBe(name);
    expect(napiPlatform("freebsd", "x64")).toBeNull();
    expect(nativeFileName("xt_cpu", "linux", "arm64")).toBe("xt_cpu.linux-arm64-gnu.node");
    expect(nativeFileName("xt_cpu", "linux", "riscv64")).toBeNull();
  });

  for (const [config, binaryName, npmDir, loader] of [
    ["package.json", "xt_cpu", "npm", "backends/cpu/native_file.ts"],
    ["backends/cuda/package.json", "xt_cuda", "backends/cuda/npm", "backends/cuda/addon_file.ts"],
  ] as const) {
    test(`${config}'s napi targets, its npm packages and ${loader} name the same files`, () => {
      const napi = readJson(config).napi as { binaryName: string; targets: string[] };
      expect(napi.binaryName).toBe(binaryName);
      const loaderSource = readFileSync(join(ROOT, loader), "utf8");
      const required = [...loaderSource.matchAll(/require\("\.\/(?:native\/)?([^"]+\.node)"\)/g)].map((m) => m[1]).sort();
      const expected = napi.targets.map((t) => `${binaryName}.${NAPI_NAME[t]}.node`).sort();
      expect(required).toEqual(expected);
      for (const t of napi.targets) {
        const pkg = readJson(`${npmDir}/${NAPI_NAME[t]}/package.json`);
        expect(pkg.main).toBe(`${binaryName}.${NAPI_NAME[t]}.node`);
      }
    });
  }

  test("the release binaries have a napi platform each, and the CPU library's targets cover them", () => {
    const targets = (readJson("package.json").napi.targets as string[]).map((t) => NAPI_NAME[t]);
    expect(RELEASE_TARGETS.map((t) => t.napiPlatform).sort()).toEqual([...targets].sort());
  });

  test("a require that found no file is 'missing' (from source, and in a binary that does not embed it)", () => {
    const fromSource = requireFailed(new Error("Cannot find module './native/xt_cpu.linux-arm64-gnu.node' from 'x.ts'\nRequire stack"), "native CPU library");
    expect(fromSource).toEqual({ ok: false, missing: true, error: "Cannot find module './native/xt_cpu.linux-arm64-gnu.node' from 'x.ts'" });
    expect(requireFailed(new Error("Cannot require module ./native/xt_cpu.darwin-arm64.node"), "x")).toMatchObject({ missing: true });
    expect(requireFailed(new Error("dlopen: wrong ELF class: ELFCLASS32"), "x")).toMatchObject({ missing: false });
  });
});

function elfHeader(machine: number): Uint8Array {
  const b = new Uint8Array(64);
  b.set([0x7f, 0x45, 0x4c, 0x46, 2, 1]);
  new DataView(b.buffer).setUint16(18, machine, true);
  return b;
}

describe("release binary checks", () => {
  test("executableFormat reads ELF, Mach-O and PE headers", () => {
    expect(executableFormat(elfHeader(0x3e))).toBe("ELF x86-64");
    expect(executableFormat(elfHeader(0xb7))).toBe("ELF aarch64");
    const macho = new Uint8Array(32);
    new DataView(macho.buffer).setUint32(0, 0xfeedfacf, true);
    new DataView(macho.buffer).setUint32(4, 0x0100000c, true);
    expect(executableFormat(macho)).toBe("Mach-O arm64");
    new DataView(macho.buffer).setUint32(4, 0x01000007, true);
    expect(executableFormat(macho)).toBe("Mach-O x86-64");
    const pe = new Uint8Array(256);
    pe.set([0x4d, 0x5a]);
    const dv = new DataView(pe.buffer);
    dv.setUint32(0x3c, 0x80, true);
    dv.setUint32(0x80, 0x00004550, true);
    dv.setUint16(0x84, 0x8664, true);
    expect(executableFormat(pe)).toBe("PE x86-64");
    expect(executableFormat(new TextEncoder().encode("#!/bin/sh\necho hi\n"))).toBeNull();
  });

  test.skipIf(process.platform !== "linux")("the running bun is this machine's ELF", async () => {
    const head = new Uint8Array(await Bun.file(process.execPath).slice(0, 64).arrayBuffer());
    expect(executableFormat(head)).toBe(process.arch === "arm64" ? "ELF aarch64" : "ELF x86-64");
  });

  test("embedded libraries are read from Bun's /$bunfs names; a foreign one is flagged", () => {
    const blob = new TextEncoder().encode(
      "\0junk/$bunfs/root/xt_cpu.linux-x64-gnu-3zede5aa.node\0more/$bunfs/root/xt_cuda.linux-x64-gnu-7gmzmvcm.node\0" +
        "/$bunfs/root/cli/main.js\0/$bunfs/root/xt_cpu.linux-x64-gnu-3zede5aa.node",
    );
    const embedded = embeddedNativeLibraries(blob);
    expect(embedded).toEqual(["xt_cpu.linux-x64-gnu.node", "xt_cuda.linux-x64-gnu.node"]);
    const byName = (n: string) => RELEASE_TARGETS.find((t) => t.name === n)!;
    expect(foreignLibraries(byName("linux-x64"), embedded)).toEqual([]);
    expect(foreignLibraries(byName("linux-arm64"), embedded)).toEqual(embedded);
    expect(foreignLibraries(byName("darwin-arm64"), [])).toEqual([]);
  });
});

describe("shared libraries for another CPU", () => {
  test.skipIf(process.platform !== "linux" || !["x64", "arm64"].includes(process.arch))(
    "an ELF library built for another CPU is not loadable here (qemu and multiarch systems list them)",
    () => {
      const dir = mkdtempSync(join(tmpdir(), "xt-elf-"));
      try {
        const here = process.arch === "x64" ? 0x3e : 0xb7;
        const other = process.arch === "x64" ? 0xb7 : 0x3e;
        writeFileSync(join(dir, "here.so"), elfHeader(here));
        writeFileSync(join(dir, "other.so"), elfHeader(other));
        writeFileSync(join(dir, "script.so"), "/* GNU ld script */ GROUP ( libc.so.6 )\n");
        expect(loadableHere(join(dir, "here.so"))).toBe(true);
        expect(loadableHere(join(dir, "other.so"))).toBe(false);
        expect(loadableHere(join(dir, "script.so"))).toBe(true);
        expect(loadableHere(process.execPath)).toBe(true);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});

/** A small x86-64 Mach-O executable: __TEXT, __LINKEDIT and a (stale) code signature at `sigAt`. */
function machO(codeBytes: number, oldSignature: Uint8Array): Uint8Array {
  const sigAt = codeBytes;
  const b = new Uint8Array(sigAt + oldSignature.length);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, 0xfeedfacf, true);
  dv.setUint32(4, 0x01000007, true);
  dv.setUint32(12, 2, true); // MH_EXECUTE
  dv.setUint32(16, 3, true); // ncmds
  dv.setUint32(20, 72 + 72 + 16, true);
  const segment = (at: number, name: string, fileoff: number, filesize: number) => {
    dv.setUint32(at, 0x19, true);
    dv.setUint32(at + 4, 72, true);
    new TextEncoder().encodeInto(name, b.subarray(at + 8, at + 24));
    dv.setBigUint64(at + 32, BigInt(filesize), true);
    dv.setBigUint64(at + 40, BigInt(fileoff), true);
    dv.setBigUint64(at + 48, BigInt(filesize), true);
  };
  segment(32, "__TEXT", 0, 8192);
  segment(104, "__LINKEDIT", 8192, b.length - 8192);
  dv.setUint32(176, 0x1d, true);
  dv.setUint32(180, 16, true);
  dv.setUint32(184, sigAt, true);
  dv.setUint32(188, oldSignature.length, true);
  for (let i = 192; i < sigAt; i++) b[i] = (i * 7919) & 0xff;
  b.set(oldSignature, sigAt);
  return b;
}

describe("ad-hoc signing of macOS binaries (scripts/macho_sign.ts)", () => {
  const unsigned = machO(10_000, new Uint8Array(300).fill(0xab));

  test("a stale signature fails the check; signed ad hoc, every page hash matches", () => {
    expect(machoSignatureValid(unsigned).ok).toBe(false);
    const signed = adhocSign(unsigned);
    expect(machoSignatureValid(signed)).toEqual({ ok: true, why: "3 pages signed" });
    expect(executableFormat(signed)).toBe("Mach-O x86-64");
    // The bytes before the signature are unchanged but for __LINKEDIT's vmsize and filesize and the signature size.
    const differing = [...signed.subarray(0, 10_000).keys()].filter((i) => signed[i] !== unsigned[i]);
    expect(differing.length).toBeGreaterThan(0);
    expect(differing.every((i) => (i >= 136 && i < 144) || (i >= 152 && i < 160) || (i >= 188 && i < 192))).toBe(true);
    const dv = new DataView(signed.buffer);
    expect(dv.getUint32(188, true)).toBe(signed.length - 10_000);
    expect(Number(dv.getBigUint64(104 + 48, true))).toBe(signed.length - 8192);
  });

  test("changing one byte of code breaks the signature; signing is idempotent", () => {
    const signed = adhocSign(unsigned);
    const tampered = signed.slice();
    tampered[5000] ^= 1;
    expect(machoSignatureValid(tampered)).toEqual({ ok: false, why: "page 1 does not match its signed hash" });
    expect(Buffer.from(adhocSign(signed)).equals(Buffer.from(signed))).toBe(true);
  });

  test("a file that is not a 64-bit Mach-O is refused", () => {
    expect(() => adhocSign(elfHeader(0x3e))).toThrow("not a 64-bit Mach-O file");
    expect(machoSignatureValid(elfHeader(0x3e)).ok).toBe(false);
  });
});

