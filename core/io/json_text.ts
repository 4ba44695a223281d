/**
 * JSON for files people read and programs parse: objects one key per line, arrays of plain values
 * (numbers, strings) on one line, so a vocabulary or a loss history does not take a line per entry.
 */
export function jsonText(value: unknown): string {
  return format(value, "") + "\n";
}

function format(v: unknown, indent: string): string {
  if (v === null || typeof v !== "object") return JSON.stringify(v) ?? "null";
  if (Array.isArray(v)) {
    if (v.every((x) => x === null || typeof x !== "object")) return JSON.stringify(v);
    const inner = indent + " ";
    return v.length === 0 ? "[]" : `[\n${v.map((x) => inner + format(x, inner)).join(",\n")}\n${indent}]`;
  }
  const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined && typeof x !== "function");
  if (entries.length === 0) return "{}";
  const inner = indent + " ";
  return `{\n${entries.map(([k, x]) => `${inner}${JSON.stringify(k)}: ${format(x, inner)}`).join(",\n")}\n${indent}}`;
}
