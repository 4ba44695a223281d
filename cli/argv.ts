/** Command-line spellings that commander does not know, rewritten before it parses. */
import type { Command } from "commander";

/**
 * Spellings commander does not know, rewritten to the grouped commands:
 *   xt help overfit vit  → xt overfit vit --help   (commander's help takes one command name)
 *   xt check-all         → xt check all            (the design card's hyphenated spellings)
 *   xt train-vit …       → xt train vit …
 */
export function rewriteArgv(argv: string[], groups: readonly Command[]): string[] {
  const [node, script, first, ...rest] = argv;
  if (first === "help" && rest.length > 0) return rewriteArgv([node!, script!, ...rest, "--help"], groups);
  const m = /^([a-z]+)-([a-z0-9-]+)$/.exec(first ?? "");
  if (!m) return argv;
  const [, group, sub] = m;
  if (group === "check") return [node!, script!, "check", sub!, ...rest];
  const parent = groups.find((c) => c.name() === group);
  if (!parent?.commands.some((c) => c.name() === sub)) return argv;
  return [node!, script!, group!, sub!, ...rest];
}
