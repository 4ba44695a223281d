/** Parse numeric flags strictly: "12abc" or "" is an error naming the flag, not a silent NaN. */
import { XtError } from "../core/errors.ts";

export function parseNumberFlag(flag: string, raw: string, min = -Infinity, max = Infinity): number {
  const v = Number(raw);
  if (raw.trim() === "" || !Number.isFinite(v)) throw new XtError(`${flag}: expected a number, got '${raw}'`, 2);
  if (v < min || v > max) throw new XtError(`${flag}: ${raw} is out of range [${min}, ${max}]`, 2);
  return v;
}

export function parseIntFlag(flag: string, raw: string, min = -Infinity, max = Infinity): number {
  const v = parseNumberFlag(flag, raw, min, max);
  if (!Number.isInteger(v)) throw new XtError(`${flag}: expected a whole number, got '${raw}'`, 2);
  return v;
}
