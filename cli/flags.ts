/** Parse numeric flags strictly: "12abc" or "" is an error naming the flag, not a silent NaN. */
import { UsageError } from "../core/errors.ts";

export function parseNumberFlag(flag: string, raw: string, min = -Infinity, max = Infinity): number {
  const v = Number(raw);
  if (raw.trim() === "" || !Number.isFinite(v)) throw new UsageError(`${flag}: expected a number, got '${raw}'`);
  if (v < min || v > max) throw new UsageError(`${flag}: ${raw} is out of range [${min}, ${max}]`);
  return v;
}

export function parseIntFlag(flag: string, raw: string, min = -Infinity, max = Infinity): number {
  const v = parseNumberFlag(flag, raw, min, max);
  if (!Number.isInteger(v)) throw new UsageError(`${flag}: expected a whole number, got '${raw}'`);
  return v;
}
