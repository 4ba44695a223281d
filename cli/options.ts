/**
 * What the commands share on the command line: the command groups (`overfit`, `train`, `eval`,
 * `cost`) that each model adds a subcommand to, option aliases, the model-size flags spelled one
 * way everywhere, and the output flags of long runs.
 */
import { Command, Option } from "commander";
import { parseIntFlag } from "./flags.ts";

/** The group command `name` (`overfit`, `train`, …), created by whichever model registers first. */
export function parentCommand(program: Command, name: string, description: string): Command {
  return program.commands.find((c) => c.name() === name) ?? program.command(name).description(description);
}

/** A second spelling of an option: hidden from the help, it sets the main option's value. */
class AliasOption extends Option {
  constructor(flags: string, private readonly target: string) {
    super(flags);
    this.hideHelp();
  }

  override attributeName(): string {
    return this.target;
  }
}

/**
 * `flags` (shown in the help, which names the alias) plus `alias` (same value, hidden):
 * "encoder layers (default 6)" reads "encoder layers (default 6; alias --layers)".
 */
export function addOptionWithAlias(c: Command, flags: string, alias: string, description: string): Command {
  const name = alias.split(" ")[0];
  const text = description.endsWith(")") ? `${description.slice(0, -1)}; alias ${name})` : `${description} (alias ${name})`;
  const main = new Option(flags, text);
  return c.addOption(main).addOption(new AliasOption(alias, main.attributeName()));
}

/**
 * The transformer's depth and width in attention heads, spelled like the notebook's `num_layers`
 * and `num_heads` on every model command; `--layers` and `--heads` are aliases.
 */
export function addDepthFlags(c: Command, layers: string, heads: string): Command {
  addOptionWithAlias(c, "--num-layers <n>", "--layers <n>", layers);
  return addOptionWithAlias(c, "--num-heads <n>", "--heads <n>", heads);
}

/** The output flags of long-running commands (cli/render/progress.ts reads them). */
export interface OutputFlags {
  json?: boolean;
  plain?: boolean;
  printEvery?: string;
  color?: boolean;
}

export const DEFAULT_PRINT_EVERY = 10;

export function addOutputFlags(c: Command): Command {
  return c
    .option("--json", "print JSON lines (start, step, eval, epoch, end events)")
    .option("--plain", "plain progress lines")
    .option("--print-every <n>", `print every n steps (default ${DEFAULT_PRINT_EVERY})`)
    .option("--no-color", "no colour");
}

/** --print-every, parsed strictly. */
export function printEveryFrom(o: OutputFlags): number {
  return o.printEvery === undefined ? DEFAULT_PRINT_EVERY : parseIntFlag("--print-every", o.printEvery, 1);
}
