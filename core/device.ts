/**
 * Which backend new tensors live on. Core code asks `currentBackend()`; the CLI picks the
 * backend once (--device) with `setBackend`.
 */
import type { Backend } from "./backend.ts";
import { CpuBackend } from "../backends/cpu/index.ts";

let current: Backend = new CpuBackend();

export function currentBackend(): Backend {
  return current;
}

export function setBackend(b: Backend): void {
  current = b;
}
