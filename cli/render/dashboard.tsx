/**
 * The live terminal dashboard (ink + chalk) for a long-running command.
 *
 * Above the live area, as static lines written once: the run's header and one summary line per
 * epoch. The live area: a progress bar with step/total and ETA; throughput (steps/s and images/s,
 * captions/s or tokens/s); a loss sparkline over the whole run with the current and lowest loss;
 * accuracy where there is one; learning rate; elapsed time; the Ctrl-C notice; and, when the run
 * ends, its summary.
 *
 * This module imports ink (slow to load: ~85 ms in the compiled binary, ~350 ms from source), so
 * `progress.ts` imports it lazily and only for the dashboard. Colours come from the chalk
 * instance passed in (off for NO_COLOR / --no-color); ink adds none of its own.
 */
import { Chalk, type ChalkInstance } from "chalk";
import { render, Static, Text, type Instance } from "ink";
import { plainLine } from "./plain.ts";
import type { FrameRenderer } from "./dashboard/live.ts";
import type { DashboardView, FinishedRun } from "./dashboard/state.ts";
import type { StartEvent } from "../../core/train/events.ts";
import { sparkline } from "./sparkline.ts";

// ---------------------------------------------------------------------------------------------
// Formatting

/** 0:07, 3:25, 1:02:03. */
export function fmtDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return "--:--";
  const s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}

/** Three significant figures, with thousands separators above 1000: 0.123, 12.3, 1,234. */
export function fmtRate(x: number): string {
  if (!Number.isFinite(x)) return "-";
  if (x >= 1000) return Math.round(x).toLocaleString("en-US");
  if (x >= 100) return x.toFixed(0);
  if (x >= 10) return x.toFixed(1);
  if (x >= 1) return x.toFixed(2);
  return x.toPrecision(3);
}

const fmtLoss = (x: number | undefined): string =>
  x === undefined ? "-" : Number.isFinite(x) ? x.toFixed(4) : String(x).toLowerCase();
const fmtAcc = (x: number | undefined): string => (x === undefined ? "-" : x.toFixed(4));
const fmtLr = (x: number | undefined): string => (x === undefined ? "-" : x.toExponential(2));

const EIGHTHS = ["", "▏", "▎", "▍", "▌", "▋", "▊", "▉"];

/** The filled and empty cells of a bar `width` cells wide, filled to `frac` in eighths of a cell. */
function progressCells(frac: number, width: number): [string, string] {
  const f = Math.min(1, Math.max(0, Number.isFinite(frac) ? frac : 0));
  const eighths = Math.round(f * width * 8);
  const full = Math.floor(eighths / 8);
  const part = EIGHTHS[eighths % 8]!;
  const rest = width - full - (part ? 1 : 0);
  return ["█".repeat(full) + part, "░".repeat(Math.max(0, rest))];
}

/** A bar `width` cells wide, filled to `frac` in eighths of a cell. */
export function progressBar(frac: number, width: number, c: ChalkInstance): string {
  const [filled, empty] = progressCells(frac, width);
  return c.green(filled) + c.gray(empty);
}

/** What unit the examples of this run are. */
function exampleUnit(v: DashboardView): string {
  const what = `${v.start?.command ?? ""} ${v.start?.model ?? ""}`.toLowerCase();
  return what.includes("caption") ? "captions" : "images";
}

/** A piece of a line: its text, and how to style it (when colour is on). */
type Seg = readonly [text: string, style?: (s: string) => string];

/**
 * Join `segs` into one line of at most `columns` visible characters: a line that does not fit is
 * cut, ending in "…". (All the dashboard's characters are one column wide.) Measuring plain text
 * here is much cheaper than letting ink wrap or truncate styled text each frame.
 */
export function fit(segs: readonly Seg[], columns: number): string {
  let width = 0;
  for (const [t] of segs) width += t.length;
  const cut = width > columns;
  let room = cut ? Math.max(0, columns - 1) : width;
  let out = "";
  for (const [t, style] of segs) {
    if (room <= 0) break;
    const piece = t.length <= room ? t : t.slice(0, room);
    room -= piece.length;
    out += style ? style(piece) : piece;
  }
  return cut && columns > 0 ? out + "…" : out;
}

/** The live area's lines for one view at a terminal width of `columns`. The run's summary, the
 * last line once it ended, may wrap; the others are cut to the width. */
export function liveLines(v: DashboardView, columns: number, c: ChalkInstance): string[] {
  const lines: string[] = v.study ? studyLines(v, columns, c) : [];
  if (v.study && v.end) {
    lines.push(plainLine(v.end, 1, c)!);
    return lines;
  }
  const total = v.totalSteps;
  const frac = total > 0 ? v.step / total : 0;
  const totalStr = String(total);
  const counts = `${String(v.step).padStart(totalStr.length)}/${totalStr}`;
  const pct = `${(frac * 100).toFixed(0).padStart(3)}%`;
  const eta = v.end ? "" : `  ETA ${v.etaMs === undefined ? "--:--" : fmtDuration(v.etaMs)}`;
  const epoch = v.epoch !== undefined && v.epochs !== undefined ? `  epoch ${v.epoch}/${v.epochs}` : "";
  const tail = ` ${counts} ${pct}${eta}${epoch}`;
  const barWidth = Math.max(10, Math.min(50, columns - tail.length - 1));
  const [filled, empty] = progressCells(frac, barWidth);
  lines.push(fit([[filled, c.green], [empty, c.gray], [tail, c.bold]], columns));
  if (v.eval) {
    // The test pass after an epoch: its own bar, so the run does not look stalled.
    const e = v.eval;
    const evalTail = ` ${e.done.toLocaleString("en-US")}/${e.total.toLocaleString("en-US")} ${e.split} ${exampleUnit(v)}`;
    const evalLabel = e.split === "test" ? "testing " : "validating ";
    const [ef, ee] = progressCells(e.total > 0 ? e.done / e.total : 0, Math.max(10, Math.min(40, columns - evalLabel.length - evalTail.length)));
    lines.push(fit([[evalLabel], [ef, c.cyan], [ee, c.gray], [evalTail]], columns));
  }

  const rate: string[] = [];
  if (v.stepsPerSec !== undefined) {
    rate.push(`${fmtRate(v.stepsPerSec)} steps/s`);
    if (v.examplesPerSec !== undefined && v.examplesPerSec > 0) rate.push(`${fmtRate(v.examplesPerSec)} ${exampleUnit(v)}/s`);
    if (v.tokensPerSec !== undefined) rate.push(`${fmtRate(v.tokensPerSec)} tokens/s`);
  } else rate.push("- steps/s");
  const bar: Seg = ["  │  ", c.gray];
  lines.push(fit([[rate.join(" · ")], bar, [`elapsed ${fmtDuration(v.elapsedMs)}`], bar, [`lr ${fmtLr(v.lr)}`]], columns));

  const now = fmtLoss(v.loss);
  const lossTail = ` now · ${fmtLoss(v.minLoss)} min`;
  const sparkWidth = Math.max(8, Math.min(60, columns - 6 - 2 - now.length - lossTail.length));
  lines.push(fit([["loss  "], [sparkline(v.losses, sparkWidth), c.cyan], ["  "], [now, c.bold], [lossTail]], columns));

  const acc: string[] = [];
  if (v.accuracy !== undefined) acc.push(`${fmtAcc(v.accuracy)} train batch`);
  if (v.lastTestAcc !== undefined) acc.push(`${fmtAcc(v.lastTestAcc)} test · ${fmtAcc(v.bestTestAcc)} best`);
  if (acc.length) lines.push(fit([[`acc   ${acc.join("  ·  ")}`]], columns));

  if (v.notice && !v.end) lines.push(fit([[v.notice, c.yellow]], columns));
  if (v.end) lines.push(plainLine(v.end, 1, c)!);
  return lines;
}

/**
 * A study's extra lines above the run's: which run of how many (variant, seed), the whole study's
 * progress bar and ETA, and the current run's model.
 */
export function studyLines(v: DashboardView, columns: number, c: ChalkInstance): string[] {
  const st = v.study!;
  const p = st.position;
  const frac = p.totalSteps > 0 ? st.stepsDone / p.totalSteps : 0;
  const running = v.end ? `${v.finishedRuns.length}/${p.runs} runs` : `run ${p.index}/${p.runs} · ${p.variant} · seed ${p.seed}`;
  const eta = v.end ? "" : `  study ETA ${st.etaMs === undefined ? "--:--" : fmtDuration(st.etaMs)}`;
  const tail = ` ${(frac * 100).toFixed(0).padStart(3)}%${eta}  elapsed ${fmtDuration(st.elapsedMs)}`;
  const head = `${running}  `;
  const barWidth = Math.max(10, Math.min(30, columns - head.length - tail.length - 1));
  const [filled, empty] = progressCells(frac, barWidth);
  const out = [fit([[head, c.bold], [filled, c.magenta], [empty, c.gray], [tail, c.bold]], columns)];
  if (v.start && !v.end) out.push(fit([[`model ${v.start.model}`, c.gray]], columns));
  return out;
}

/** One line for a study's finished run: which run, then its last epoch's numbers (or its last loss). */
export function finishedRunLine(r: FinishedRun, c: ChalkInstance): string {
  const p = r.start.study;
  const what = `run ${String(p.index).padStart(String(p.runs).length)}/${p.runs}  ${p.variant.padEnd(12)} seed ${String(p.seed).padEnd(6)}`;
  const numbers = r.lastEpoch ? plainLine(r.lastEpoch, 1, c)! : `loss ${fmtLoss(r.loss)}  ${fmtDuration(r.elapsedMs)}`;
  return `${c.bold(what)}  ${numbers}`;
}

/**
 * The run's header: the command, its size and device; the model; the data and the schedule. Cut
 * to the width like the live lines (a long model or data description would wrap).
 */
export function headerLines(s: StartEvent, c: ChalkInstance, columns: number): string[] {
  const dot: Seg = [" · ", c.gray];
  const first = fit([[`xt ${s.command}`, c.bold], dot, [`${s.params.toLocaleString("en-US")} params`], dot, [s.device]], columns);
  const third = [`data ${s.dataset}`, `${s.totalSteps} steps`];
  if (s.epochs !== undefined) third.push(`${s.epochs} epochs`);
  if (s.batchSize !== undefined) third.push(`batch ${s.batchSize}`);
  return [first, fit([[`model ${s.model}`, c.gray]], columns), fit([[third.join(" · "), c.gray]], columns)];
}

const noColour = new Chalk({ level: 0 });

/**
 * The lines written once above the live area, cut to the width: the header, then one per epoch;
 * for a study, its title, then one line per finished run (ink's <Static> writes only lines added
 * since the last frame).
 */
export function staticLines(v: DashboardView, c: ChalkInstance, columns: number): string[] {
  const out: string[] = [];
  if (v.study) {
    const p = v.study.position;
    const device = v.start?.device ?? v.finishedRuns[0]?.start.device ?? "";
    const dot: Seg = [" · ", c.gray];
    out.push(fit([[`xt ${p.command}`, c.bold], dot, [`${p.runs} runs`], dot, [`${p.totalSteps} steps`], ...(device ? [dot, [device] as Seg] : [])], columns));
    for (const r of v.finishedRuns) out.push(fit([[finishedRunLine(r, noColour), c.cyan]], columns));
    return out;
  }
  if (v.start) out.push(...headerLines(v.start, c, columns));
  for (const e of v.epochEvents) out.push(fit([[plainLine(e, 1, noColour)!, c.cyan]], columns));
  return out;
}

// ---------------------------------------------------------------------------------------------
// The ink component

export interface DashboardProps {
  view: DashboardView;
  columns: number;
  c: ChalkInstance;
}

/**
 * The whole frame: <Static> for the header and epoch lines (ink writes each once, above), and the
 * live area as one <Text> (one text node is about half the cost per frame of one per line).
 */
export function Dashboard({ view, columns, c }: DashboardProps) {
  const items = staticLines(view, c, columns).map((text, i) => ({ key: String(i), text }));
  return (
    <>
      <Static items={items}>{(it) => <Text key={it.key}>{it.text}</Text>}</Static>
      <Text>{liveLines(view, columns, c).join("\n")}</Text>
    </>
  );
}

// ---------------------------------------------------------------------------------------------
// The renderer that progress.ts attaches to a LiveDashboard

export function inkRenderer(stdout: NodeJS.WriteStream, c: ChalkInstance): FrameRenderer {
  let instance: Instance | null = null;
  const columns = (): number => stdout.columns || 80;
  return {
    draw(view) {
      const el = <Dashboard view={view} columns={columns()} c={c} />;
      if (instance === null) {
        instance = render(el, {
          stdout,
          stderr: process.stderr,
          exitOnCtrlC: false,
          patchConsole: true,
          // The LiveDashboard already throttles to 10 frames a second; ink's own throttle would
          // defer frames to timers, which do not fire while a synchronous training step runs.
          maxFps: 1000,
        });
      } else instance.rerender(el);
    },
    done() {
      instance?.unmount();
      instance = null;
    },
  };
}
