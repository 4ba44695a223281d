/**
 * `npm run build:release`: the single xt binary for every platform, cross-compiled with
 * `bun build --compile --target=bun-<platform>` into dist/release/ (xt-linux-x64, xt-linux-arm64,
 * xt-darwin-arm64, xt-darwin-x64, xt-windows-x64.exe) with their SHA-256 sums in
 * dist/release/SHA256SUMS (`sha256sum -c SHA256SUMS` checks them).
 *
 * Each binary embeds only the native libraries built for its platform (the loaders spell one literal
 * path per platform, and Bun fixes process.platform/arch for the target): xt-linux-x64 embeds the
 * native CPU library (required: built first with scripts/build-native-cpu.sh --strict) and the CUDA
 * addon when it is built; the others run the TypeScript kernels (plus a platform BLAS found at run
 * time) unless a library for their platform was built into the tree. After each build this script
 * reads the binary's header (format and CPU) and its embedded libraries, and fails on a mismatch;
 * a macOS binary must carry a code signature that matches its bytes (Apple silicon runs nothing
 * else): darwin-arm64 comes signed by Bun, darwin-x64 is signed ad hoc here (macho_sign.ts).
 *
 * Usage: bun scripts/build-release.ts [--only linux-arm64,…] [--out DIR]
 */
import { spawnSync } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { writeFileAtomic } from "../core/io/atomic_write.ts";
import { adhocSign } from "./macho_sign.ts";
import { embeddedNativeLibraries, executableFormat, foreignLibraries, machoSignatureValid, RELEASE_TARGETS, type ReleaseTarget } from "./release_targets.ts";

const ROOT = resolve(import.meta.dir, "..");

function die(message: string): never {
  console.error(`build-release: ${message}`);
  process.exit(1);
}

function parseArgs(argv: string[]): { targets: ReleaseTarget[]; out: string } {
  let targets = [...RELEASE_TARGETS];
  let out = join(ROOT, "dist/release");
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "--only" && argv[i + 1]) {
      const names = argv[++i]!.split(",");
      for (const n of names) {
        if (!RELEASE_TARGETS.some((t) => t.name === n)) die(`unknown target ${n} (known: ${RELEASE_TARGETS.map((t) => t.name).join(", ")})`);
      }
      targets = RELEASE_TARGETS.filter((t) => names.includes(t.name));
    } else if (a === "--out" && argv[i + 1]) {
      out = resolve(argv[++i]!);
    } else if (a === "-h" || a === "--help") {
      console.log("usage: bun scripts/build-release.ts [--only linux-x64,linux-arm64,darwin-arm64,darwin-x64,windows-x64] [--out DIR]");
      process.exit(0);
    } else {
      console.error(`build-release: unknown argument ${a}`);
      process.exit(2);
    }
  }
  return { targets, out };
}

function run(cmd: string[], what: string): void {
  const r = spawnSync(cmd[0]!, cmd.slice(1), { cwd: ROOT, stdio: ["ignore", "pipe", "pipe"], encoding: "utf8" });
  if (r.status !== 0) die(`${what} failed (exit ${r.status}):\n${r.stdout}${r.stderr}`);
}

function head(path: string, n = 4096): Uint8Array {
  const fd = openSync(path, "r");
  try {
    const buf = new Uint8Array(n);
    return buf.subarray(0, readSync(fd, buf, 0, n, 0));
  } finally {
    closeSync(fd);
  }
}

const { targets, out } = parseArgs(process.argv.slice(2));
const start = performance.now();

if (targets.some((t) => t.name === "linux-x64")) {
  // The linux-x64 binary must carry the native CPU kernels.
  const r = spawnSync("bash", ["scripts/build-native-cpu.sh", "--strict"], { cwd: ROOT, stdio: "inherit" });
  if (r.status !== 0) die("the native CPU library is needed for xt-linux-x64 (scripts/build-native-cpu.sh needs cargo)");
}

mkdirSync(out, { recursive: true });
const staging = join(out, ".staging");
rmSync(staging, { recursive: true, force: true });
mkdirSync(staging);

const rows: { target: ReleaseTarget; bytes: number; embedded: string[]; sha256: string; note: string }[] = [];
/** Whether macho_sign.ts reproduces the signature Bun wrote on a Mach-O it signed right (null: none seen yet). */
let signerAgreesWithBun: boolean | null = null;
for (const t of targets) {
  const tmp = join(staging, t.file);
  run([process.execPath, "build", "--compile", "--minify", `--target=${t.bunTarget}`, "cli/main.ts", "--outfile", tmp], `bun build --target=${t.bunTarget}`);
  const format = executableFormat(head(tmp));
  if (format !== t.format) die(`${t.file} is ${format ?? "not an executable"}, expected ${t.format}`);
  let bytes = readFileSync(tmp);
  const embedded = embeddedNativeLibraries(bytes);
  const foreign = foreignLibraries(t, embedded);
  if (foreign.length > 0) die(`${t.file} embeds native libraries built for another platform: ${foreign.join(", ")}`);
  if (t.name === "linux-x64" && !embedded.includes("xt_cpu.linux-x64-gnu.node")) die(`${t.file} does not embed the native CPU library`);
  let note = "";
  if (t.format.startsWith("Mach-O")) {
    // macOS does not start a program whose signature does not match its bytes.
    if (machoSignatureValid(bytes).ok) {
      signerAgreesWithBun ??= Buffer.from(adhocSign(bytes)).equals(bytes);
    } else {
      // Bun 1.4.4 leaves darwin-x64 under its runtime's own signature (oven-sh/bun#39837): sign it ad hoc.
      if (signerAgreesWithBun === false) die(`${t.file} needs signing, and macho_sign.ts does not reproduce Bun's own ad-hoc signature`);
      bytes = Buffer.from(adhocSign(bytes));
      writeFileSync(tmp, bytes);
      const sig = machoSignatureValid(bytes);
      if (!sig.ok) die(`${t.file}: its code signature is still not valid after signing (${sig.why})`);
      note = " (signed ad hoc here)";
    }
  }
  const sha256 = new Bun.CryptoHasher("sha256").update(bytes).digest("hex");
  // Rename into place: a running copy of the old binary keeps its file.
  renameSync(tmp, join(out, t.file));
  rows.push({ target: t, bytes: statSync(join(out, t.file)).size, embedded, sha256, note });
}
rmSync(staging, { recursive: true, force: true });

// SHA256SUMS covers every binary of ours in the folder (a partial --only run keeps the others' lines).
const sums = new Map<string, string>();
try {
  for (const line of readFileSync(join(out, "SHA256SUMS"), "utf8").split("\n")) {
    const m = /^([0-9a-f]{64}) {2}(\S+)$/.exec(line);
    if (m && RELEASE_TARGETS.some((t) => t.file === m[2]) && existsSync(join(out, m[2]!))) sums.set(m[2]!, m[1]!);
  }
} catch {
  // no earlier sums
}
for (const r of rows) sums.set(r.target.file, r.sha256);
writeFileAtomic(join(out, "SHA256SUMS"), [...sums].sort(([a], [b]) => a.localeCompare(b)).map(([f, h]) => `${h}  ${f}\n`).join(""));

for (const r of rows) {
  const natives = r.embedded.length > 0 ? r.embedded.join(", ") : "none (TypeScript kernels)";
  console.log(`${r.target.file.padEnd(20)} ${r.target.format.padEnd(14)} ${(r.bytes / 2 ** 20).toFixed(1).padStart(6)} MiB  native: ${natives}${r.note}`);
}
console.log(`build-release: ${rows.length} binaries and SHA256SUMS in ${out} (${((performance.now() - start) / 1000).toFixed(0)} s)`);
