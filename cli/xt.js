#!/usr/bin/env node
// `npx xt` entry: run cli/main.ts under the Bun that npm installed next to us (Node cannot run TypeScript).
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { constants } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const main = join(dirname(fileURLToPath(import.meta.url)), "main.ts");
if (process.versions.bun) {
  await import(main);
} else {
  const require = createRequire(import.meta.url);
  let bun;
  try {
    bun = join(dirname(require.resolve("bun/package.json")), "bin", "bun.exe");
  } catch {
    console.error("xt: the 'bun' package is not installed here; run `npm install` first.");
    process.exit(1);
  }
  const child = spawn(bun, [main, ...process.argv.slice(2)], { stdio: "inherit" });
  // The wrapper must outlive Bun: it exits with Bun's status, after Bun's last line.
  // Ctrl-C (SIGINT, SIGQUIT) goes from the terminal to the whole foreground process group, Bun
  // included, and Bun handles it (stop after this step, save, exit 130); passing it on would be a
  // second Ctrl-C, which quits at once. So the wrapper only keeps itself alive and waits.
  for (const sig of ["SIGINT", "SIGQUIT"]) process.on(sig, () => {});
  // SIGTERM and SIGHUP usually come to this process alone (kill PID, a closed session): pass them on.
  for (const sig of ["SIGTERM", "SIGHUP"]) process.on(sig, () => child.kill(sig));
  child.on("error", (e) => {
    console.error(`xt: cannot start Bun (${bun}): ${e.message}`);
    process.exit(1);
  });
  child.on("exit", (code, signal) => {
    process.exit(code ?? 128 + (constants.signals[signal] ?? 0));
  });
}
