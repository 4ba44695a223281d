/**
 * What the live dashboard knows about a run, updated in O(1) per event (amortized: the loss
 * history compacts itself now and then). Nothing here renders; `view()` turns the state into the
 * numbers a frame shows, and is called at most ~10 times a second.
 */
import type { EndEvent, EpochEvent, EvalEvent, StartEvent, StudyPosition, TrainEvent } from "../../../core/train/events.ts";
import { RunHistory } from "../sparkline.ts";

/** Step events kept for the recent throughput (and ETA) estimate. */
const RATE_WINDOW = 32;

export interface DashboardView {
  start: StartEvent | null;
  step: number;
  totalSteps: number;
  epoch?: number;
  epochs?: number;
  loss?: number;
  minLoss?: number;
  lr?: number;
  accuracy?: number;
  lastTestAcc?: number;
  bestTestAcc?: number;
  elapsedMs: number;
  /** Recent steps per second, or undefined before two step events. */
  stepsPerSec?: number;
  examplesPerSec?: number;
  tokensPerSec?: number;
  /** Remaining time at the recent rate, or undefined when unknown. */
  etaMs?: number;
  /** Bucketed loss over the whole run, oldest first. */
  losses: Float64Array;
  epochEvents: readonly EpochEvent[];
  /** The evaluation pass under way (between the last step and the epoch's summary), if any. */
  eval: EvalEvent | null;
  end: EndEvent | null;
  notice: string | null;
  /** A study (`xt ablate`): where the whole study stands. */
  study?: StudyView;
  /** A study's finished runs, oldest first. */
  finishedRuns: readonly FinishedRun[];
}

export interface StudyView {
  position: StudyPosition;
  /** Steps of the whole study done, and its wall time so far. */
  stepsDone: number;
  elapsedMs: number;
  /** The whole study's remaining time at its average rate so far. */
  etaMs?: number;
}

/** One finished run of a study: its start event, its last epoch event and last loss. */
export interface FinishedRun {
  start: StartEvent & { study: StudyPosition };
  lastEpoch?: EpochEvent;
  loss?: number;
  elapsedMs: number;
}

export class DashboardState {
  start: StartEvent | null = null;
  end: EndEvent | null = null;
  eval: EvalEvent | null = null;
  notice: string | null = null;
  readonly epochEvents: EpochEvent[] = [];
  history: RunHistory;
  readonly finishedRuns: FinishedRun[] = [];

  step = 0;
  totalSteps = 0;
  epoch?: number;
  epochs?: number;
  loss?: number;
  minLoss?: number;
  lr?: number;
  accuracy?: number;
  lastTestAcc?: number;
  bestTestAcc?: number;
  elapsedMs = 0;
  private examples = 0;
  private tokens = 0;
  private sawTokens = false;
  /** Ring buffer over the last RATE_WINDOW step events: time, step, cumulative examples and tokens. */
  private rT = new Float64Array(RATE_WINDOW);
  private rStep = new Float64Array(RATE_WINDOW);
  private rEx = new Float64Array(RATE_WINDOW);
  private rTok = new Float64Array(RATE_WINDOW);
  private rNext = 0;
  private rCount = 0;
  /** Number of state changes: lets the renderer skip a frame when nothing changed. */
  version = 0;

  constructor(private readonly historyCapacity = 256) {
    this.history = new RunHistory(historyCapacity);
  }

  /** A study's run ended (the next run started, or the study ended): keep its summary line. */
  private archiveRun(): void {
    const s = this.start;
    if (!s?.study) return;
    this.finishedRuns.push({ start: s as FinishedRun["start"], lastEpoch: this.epochEvents[this.epochEvents.length - 1], loss: this.loss, elapsedMs: this.elapsedMs });
    this.start = null;
  }

  /** Back to a fresh run (the next run of a study). */
  private resetRun(): void {
    this.epochEvents.length = 0;
    this.history = new RunHistory(this.historyCapacity);
    this.step = 0;
    this.totalSteps = 0;
    this.epoch = this.epochs = this.loss = this.minLoss = this.lr = this.accuracy = this.lastTestAcc = this.bestTestAcc = undefined;
    this.elapsedMs = 0;
    this.examples = this.tokens = 0;
    this.sawTokens = false;
    this.rNext = this.rCount = 0;
    this.eval = null;
  }

  apply(e: TrainEvent): void {
    this.version++;
    this.eval = e.type === "eval" ? e : null;
    switch (e.type) {
      case "start":
        if (e.study) {
          if (this.start?.study) this.archiveRun();
          this.resetRun();
        }
        this.start = e;
        this.totalSteps = e.totalSteps;
        this.epochs = e.epochs;
        this.lr = e.lr;
        return;
      case "step": {
        this.step = e.step;
        this.totalSteps = e.totalSteps;
        if (e.epoch !== undefined) this.epoch = e.epoch;
        this.loss = e.loss;
        if (Number.isFinite(e.loss) && (this.minLoss === undefined || e.loss < this.minLoss)) this.minLoss = e.loss;
        this.lr = e.lr;
        if (e.accuracy !== undefined) this.accuracy = e.accuracy;
        this.elapsedMs = e.elapsedMs;
        this.examples += e.examples;
        if (e.tokens !== undefined) {
          this.tokens += e.tokens;
          this.sawTokens = true;
        }
        const k = this.rNext;
        this.rT[k] = e.elapsedMs;
        this.rStep[k] = e.step;
        this.rEx[k] = this.examples;
        this.rTok[k] = this.tokens;
        this.rNext = (k + 1) % RATE_WINDOW;
        if (this.rCount < RATE_WINDOW) this.rCount++;
        this.history.push(e.loss);
        return;
      }
      case "eval":
        this.elapsedMs = Math.max(this.elapsedMs, e.elapsedMs);
        return;
      case "epoch":
        this.epochEvents.push(e);
        this.epoch = e.epoch;
        this.epochs = e.epochs;
        this.elapsedMs = Math.max(this.elapsedMs, e.elapsedMs);
        if (e.testAcc !== undefined) {
          this.lastTestAcc = e.testAcc;
          if (this.bestTestAcc === undefined || e.testAcc > this.bestTestAcc) this.bestTestAcc = e.testAcc;
        }
        return;
      case "end":
        if (e.variants) this.archiveRun();
        this.end = e;
        this.elapsedMs = Math.max(this.elapsedMs, e.elapsedMs);
        return;
    }
  }

  setNotice(message: string | null): void {
    this.notice = message;
    this.version++;
  }

  view(): DashboardView {
    const v: DashboardView = {
      start: this.start,
      step: this.step,
      totalSteps: this.totalSteps,
      epoch: this.epoch,
      epochs: this.epochs,
      loss: this.loss,
      minLoss: this.minLoss,
      lr: this.lr,
      accuracy: this.accuracy,
      lastTestAcc: this.lastTestAcc,
      bestTestAcc: this.bestTestAcc,
      elapsedMs: this.elapsedMs,
      losses: this.history.values(),
      epochEvents: this.epochEvents.slice(),
      eval: this.eval,
      end: this.end,
      notice: this.notice,
      finishedRuns: this.finishedRuns.slice(),
    };
    const st = this.start?.study ?? this.finishedRuns[this.finishedRuns.length - 1]?.start.study;
    if (st) {
      const current = this.start?.study ? this.step : 0;
      const stepsDone = this.end?.variants ? this.end.steps : st.stepsBefore + current;
      const elapsedMs = this.end?.variants ? this.end.elapsedMs : st.elapsedBeforeMs + (this.start?.study ? this.elapsedMs : 0);
      v.study = { position: st, stepsDone, elapsedMs };
      if (stepsDone > 0 && elapsedMs > 0) v.study.etaMs = (Math.max(0, st.totalSteps - stepsDone) * elapsedMs) / stepsDone;
    }
    // Throughput over the recent window; with a single step event, over the run so far.
    let dt: number;
    let dSteps: number;
    let dEx: number;
    let dTok: number;
    if (this.rCount >= 2) {
      const newest = (this.rNext + RATE_WINDOW - 1) % RATE_WINDOW;
      const oldest = this.rCount < RATE_WINDOW ? 0 : this.rNext;
      dt = this.rT[newest]! - this.rT[oldest]!;
      dSteps = this.rStep[newest]! - this.rStep[oldest]!;
      dEx = this.rEx[newest]! - this.rEx[oldest]!;
      dTok = this.rTok[newest]! - this.rTok[oldest]!;
    } else {
      dt = this.elapsedMs;
      dSteps = this.step;
      dEx = this.examples;
      dTok = this.tokens;
    }
    if (dt > 0 && dSteps > 0) {
      v.stepsPerSec = (dSteps / dt) * 1000;
      v.examplesPerSec = (dEx / dt) * 1000;
      if (this.sawTokens) v.tokensPerSec = (dTok / dt) * 1000;
      v.etaMs = (Math.max(0, this.totalSteps - this.step) / v.stepsPerSec) * 1000;
    }
    return v;
  }
}
