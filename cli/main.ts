/** xt's command line: parses arguments, hands work to core/, renders results. */
import { Command, CommanderError } from "commander";
import { XtError } from "../core/errors.ts";
import { registerCheck } from "./commands/check.ts";

const program = new Command();
program
  .name("xt")
  .description("Transformer captioning and Vision Transformer (CS231n) with exact PyTorch parity")
  .version("0.1.0")
  .showHelpAfterError()
  .exitOverride();

let exitCode = 0;
const exit = (code: number): void => {
  exitCode = code;
};
registerCheck(program, exit);

try {
  await program.parseAsync(process.argv);
} catch (e) {
  if (e instanceof CommanderError) {
    process.exit(e.exitCode);
  }
  if (e instanceof XtError) {
    process.stderr.write(`xt: ${e.message}\n`);
    process.exit(e.exitCode);
  }
  throw e;
}
process.exit(exitCode);
