/**
 * Finds shared libraries by file name in the folders the dynamic linker searches, without loading
 * them (loading runs their constructors: thread pools, driver start-up). Used to tell whether an
 * NVIDIA driver is installed and which BLAS libraries a machine has.
 */
import { closeSync, existsSync, openSync, readdirSync, readFileSync, readSync, statSync } from "node:fs";
import { dirname, isAbsolute, join } from "node:path";

const DEFAULT_DIRS = ["/lib", "/usr/lib", "/lib64", "/usr/lib64", "/usr/local/lib"];

/** Expands one ld.so.conf `include` pattern (a `*` in the last part only, as the files use it). */
function expandInclude(pattern: string, base: string): string[] {
  const full = isAbsolute(pattern) ? pattern : join(base, pattern);
  const last = full.slice(full.lastIndexOf("/") + 1);
  if (!last.includes("*")) return [full];
  const dir = dirname(full);
  const re = new RegExp(`^${last.split("*").map((s) => s.replace(/[.+?^${}()|[\]\\]/g, "\\$&")).join(".*")}$`);
  try {
    return readdirSync(dir).filter((f) => re.test(f)).sort().map((f) => join(dir, f));
  } catch {
    return [];
  }
}

/** The folders listed by /etc/ld.so.conf and the files it includes. */
function ldSoConfDirs(file: string, seen: Set<string>, depth = 0): string[] {
  if (depth > 8 || seen.has(file)) return [];
  seen.add(file);
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.replace(/#.*/, "").trim();
    if (line === "") continue;
    const inc = /^include\s+(.+)$/.exec(line);
    if (inc) {
      for (const f of expandInclude(inc[1]!.trim(), dirname(file))) out.push(...ldSoConfDirs(f, seen, depth + 1));
    } else {
      out.push(line);
    }
  }
  return out;
}

let cachedDirs: string[] | null = null;

/** The dynamic linker's search folders, in its order: LD_LIBRARY_PATH, ld.so.conf, the defaults. */
export function librarySearchDirs(): string[] {
  // Windows' loader looks next to the program, then in the folders of PATH.
  if (process.platform === "win32") return [...new Set([dirname(process.execPath), ...(process.env.PATH ?? "").split(";").filter((d) => d !== "")])];
  const env = (process.env.LD_LIBRARY_PATH ?? "").split(":").filter((d) => d !== "");
  if (cachedDirs === null) {
    const conf = process.platform === "linux" ? ldSoConfDirs("/etc/ld.so.conf", new Set()) : [];
    const extra = process.platform === "darwin" ? ["/usr/local/lib", "/opt/homebrew/lib"] : DEFAULT_DIRS;
    cachedDirs = [...conf, ...extra];
  }
  return [...new Set([...env, ...cachedDirs])];
}

/** ELF e_machine of this process's architecture (x86-64, aarch64). */
const ELF_MACHINE: Readonly<Record<string, number>> = { x64: 0x3e, arm64: 0xb7 };

/**
 * Whether the file at `path` can be loaded by this process: false only for an ELF file built for
 * another CPU (the x86-64 libraries a multiarch system, or qemu running an arm64 xt, also lists).
 */
export function loadableHere(path: string): boolean {
  const want = ELF_MACHINE[process.arch];
  if (process.platform !== "linux" || want === undefined) return true;
  let fd: number | null = null;
  try {
    fd = openSync(path, "r");
    const head = new Uint8Array(20);
    if (readSync(fd, head, 0, 20, 0) < 20 || head[0] !== 0x7f || head[1] !== 0x45 || head[2] !== 0x4c || head[3] !== 0x46) return true;
    const machine = head[5] === 1 ? head[18]! | (head[19]! << 8) : (head[18]! << 8) | head[19]!;
    return machine === want;
  } catch {
    return true;
  } finally {
    if (fd !== null) closeSync(fd);
  }
}

/** The path of the first of `names` found in the linker's search folders (built for this CPU), or null. */
export function findSharedLibrary(names: readonly string[]): string | null {
  const dirs = librarySearchDirs();
  for (const name of names) {
    if (isAbsolute(name)) {
      if (existsSync(name) && loadableHere(name)) return name;
      continue;
    }
    for (const dir of dirs) {
      const p = join(dir, name);
      try {
        if (statSync(p).isFile() && loadableHere(p)) return p;
      } catch {
        // not here
      }
    }
  }
  return null;
}
