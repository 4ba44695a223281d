/** "did you mean" for a mistyped name: the closest valid names by edit distance. */
import { distance } from "fastest-levenshtein";

/** The valid names within a small edit distance of `name` (closest first), or a prefix match. */
export function similarNames(name: string, valid: readonly string[]): string[] {
  const lower = name.toLowerCase();
  const limit = Math.max(1, Math.floor(lower.length / 3));
  const scored = valid
    .map((v) => ({ v, d: v.startsWith(lower) || lower.startsWith(v) ? 0.5 : distance(lower, v.toLowerCase()) }))
    .filter((s) => s.d <= limit)
    .sort((a, b) => a.d - b.d);
  return scored.map((s) => s.v);
}

/** " (did you mean 'x'?)" or "" when nothing is close. */
export function didYouMean(name: string, valid: readonly string[]): string {
  const close = similarNames(name, valid);
  if (close.length === 0) return "";
  return ` (did you mean ${close.slice(0, 2).map((c) => `'${c}'`).join(" or ")}?)`;
}
