/**
 * The --device and --verbose options and the hook that picks the device once, before any command
 * runs. `auto` (the default) says nothing about a device whose hardware is simply absent (no
 * NVIDIA driver): the dashboard header and `xt info` show the device in use. It prints one short
 * line when a driver is there but CUDA still cannot be used, and with --verbose.
 */
import type { Command } from "commander";
import { useDevice, type DeviceChoice } from "../core/device.ts";
import { launchRank, pinGpuToLocalRank } from "./distributed.ts";

const deviceFree = new Set<Command>();

/** Commands that pick (or report on) the device themselves: the hook leaves them alone. */
export function skipDeviceHook(cmd: Command): void {
  deviceFree.add(cmd);
}

/** The device request and where it came from (the flag wins over XT_DEVICE). */
export function deviceRequest(program: Command): { req: string; source: string } {
  const flag = program.opts().device as string | undefined;
  if (flag !== undefined) return { req: flag, source: "--device" };
  const env = process.env.XT_DEVICE;
  if (env !== undefined && env !== "") return { req: env, source: "XT_DEVICE" };
  return { req: "auto", source: "--device" };
}

/**
 * What to say on stderr about the choice: with --verbose, the device and why; otherwise one line
 * per device `auto` passed over although its hardware is there (none when it is simply absent).
 */
export function deviceNotices(choice: DeviceChoice, verbose: boolean): string[] {
  if (verbose) return [`xt: device ${choice.device} (${choice.reason})`];
  return choice.skipped.filter((s) => !s.absent).map((s) => `xt: ${s.device} not usable (${s.reason}); using ${choice.device}`);
}

export function addDeviceOptions(program: Command): void {
  program
    .option("--device <kind>", "auto, cpu, cuda or cuda:0, any case (default: $XT_DEVICE, else auto)")
    .option("--verbose", "say which device was chosen and why")
    .configureHelp({ showGlobalOptions: true });
  program.hook("preAction", (_root, action) => {
    if (deviceFree.has(action)) return;
    // A rank of a data-parallel run takes its node-local GPU, and only rank 0 speaks.
    pinGpuToLocalRank();
    const { req, source } = deviceRequest(program);
    const choice = useDevice(req, source);
    if (launchRank() !== 0) return;
    for (const line of deviceNotices(choice, program.opts().verbose === true)) process.stderr.write(`${line}\n`);
  });
}
