#!/usr/bin/env node
// `npx xt` entry: run cli/main.ts under the Bun that npm installed next to us (Node cannot run TypeScript).
import { spawnSync } from "node:child_process";
import { createRequire } from "node:module";
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
  const r = spawnSync(bun, [main, ...process.argv.slice(2)], { stdio: "inherit" });
  if (r.error) {
    console.error(`xt: cannot start Bun (${bun}): ${r.error.message}`);
    process.exit(1);
  }
  process.exit(r.status ?? (r.signal === "SIGINT" ? 130 : 1));
}
