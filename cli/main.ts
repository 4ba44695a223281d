/** xt's command line: parses arguments, hands work to core/, renders results. */
import { Command, CommanderError } from "commander";
import "../backends/register.ts";
import { XtError } from "../core/errors.ts";
import { registerAttention } from "./commands/attention.ts";
import { registerBench } from "./commands/bench.ts";
import { registerCheck } from "./commands/check.ts";
import { addDeviceOptions } from "./device.ts";
import { registerCaptioning } from "./commands/captioning.ts";
import { registerInfo } from "./commands/info.ts";
import { registerPlot } from "./commands/plot.ts";
import { registerSample } from "./commands/sample.ts";
import { registerVit } from "./commands/vit.ts";
import { failRun, finishRun } from "./distributed.ts";

const program = new Command();
program
  .name("xt")
  .description("Transformer captioning and Vision Transformer (CS231n) with exact PyTorch parity")
  .version("0.1.0")
  .showHelpAfterError()
  .exitOverride();
addDeviceOptions(program);

let exitCode = 0;
const exit = (code: number): void => {
  exitCode = code;
};
registerCheck(program, exit);
registerBench(program, exit);
registerCaptioning(program, exit);
registerSample(program, exit);
registerVit(program, exit);
registerInfo(program, exit);
registerAttention(program, exit);
registerPlot(program, exit);

/** The design card's hyphenated spellings (train-vit, overfit-captioning, …) as aliases of "group sub". */
function splitHyphenAlias(argv: string[]): string[] {
  const m = /^(overfit|train|eval|cost)-([a-z]+)$/.exec(argv[2] ?? "");
  const group = m && program.commands.find((c) => c.name() === m[1]);
  if (!m || !group?.commands.some((c) => c.name() === m[2])) return argv;
  return [argv[0]!, argv[1]!, m[1]!, m[2]!, ...argv.slice(3)];
}

try {
  await program.parseAsync(splitHyphenAlias(process.argv));
} catch (e) {
  if (e instanceof CommanderError) {
    process.exit(e.exitCode);
  }
  if (e instanceof XtError) {
    failRun(e.message, e.exitCode);
    process.stderr.write(`xt: ${e.message}\n`);
    process.exit(e.exitCode);
  }
  // A bug: keep its stack, and in a data-parallel run still end every rank.
  failRun(e instanceof Error ? (e.stack ?? e.message) : String(e), 1);
  throw e;
}
finishRun();
process.exit(exitCode);
