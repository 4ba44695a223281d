/** xt's command line: parses arguments, hands work to core/, renders results. */
import { Command, CommanderError } from "commander";
import "../backends/register.ts";
import { EXIT, XtError } from "../core/errors.ts";
import { registerAttention } from "./commands/attention.ts";
import { registerAblate } from "./commands/ablate.ts";
import { registerBench } from "./commands/bench.ts";
import { registerCheck } from "./commands/check.ts";
import { addDeviceOptions } from "./device.ts";
import { registerCaptioning } from "./commands/captioning.ts";
import { registerCnn } from "./commands/cnn.ts";
import { registerInfo } from "./commands/info.ts";
import { registerPlot } from "./commands/plot.ts";
import { registerSample } from "./commands/sample.ts";
import { registerSmoke } from "./commands/smoke.ts";
import { registerVit } from "./commands/vit.ts";
import { failRun, finishRun } from "./distributed.ts";
import { rewriteArgv } from "./argv.ts";
import { exitWhenFlushed, ignoreBrokenPipe } from "./stdio.ts";

ignoreBrokenPipe();

const program = new Command();
program
  .name("xt")
  .description("Transformer captioning and Vision Transformer (CS231n) with exact PyTorch parity")
  .version("0.1.0")
  // Commander's own messages ("error: unknown option '--x'") in xt's voice.
  .configureOutput({ outputError: (s, write) => write(`xt: ${s.replace(/^error: /, "")}`) })
  .exitOverride();
addDeviceOptions(program);

let exitCode: number = EXIT.ok;
const exit = (code: number): void => {
  exitCode = code;
};
registerCheck(program, exit);
registerBench(program, exit);
registerCaptioning(program, exit);
registerSample(program, exit);
registerSmoke(program, exit);
registerVit(program, exit);
registerCnn(program, exit);
registerInfo(program, exit);
registerAttention(program, exit);
registerPlot(program, exit);
registerAblate(program, exit);

// After a usage error, one line pointing to the command's help (not the whole help).
(function hintHelp(c: Command, path: string): void {
  c.showHelpAfterError(`run '${path} --help' for usage`);
  for (const sub of c.commands) hintHelp(sub, `${path} ${sub.name()}`);
})(program, "xt");

/** The exit code for what the run threw, after saying what went wrong. */
function exitCodeFor(e: unknown): number {
  // Commander has already printed its message (and the help hint): 0 for --help and --version,
  // and every other commander error is a wrong command line.
  if (e instanceof CommanderError) return e.exitCode === 0 ? EXIT.ok : EXIT.usage;
  if (e instanceof XtError) {
    failRun(e.message, e.exitCode); // a data-parallel run ends every rank
    process.stderr.write(`xt: ${e.message}\n`);
    return e.exitCode;
  }
  // A bug: keep its stack, and in a data-parallel run still end every rank.
  const text = e instanceof Error ? (e.stack ?? e.message) : String(e);
  failRun(text, EXIT.failure);
  process.stderr.write(`${text}\n`);
  return EXIT.failure;
}

try {
  await program.parseAsync(rewriteArgv(process.argv, program.commands));
  finishRun(); // MPI_Finalize after a data-parallel run that ended normally (also when interrupted)
} catch (e) {
  exitCode = exitCodeFor(e);
}
await exitWhenFlushed(exitCode);
