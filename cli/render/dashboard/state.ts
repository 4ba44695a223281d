/**
 * What the live dashboard knows about a run, updated in O(1) per event (amortized: the loss
 * history compacts itself now and then). Nothing here renders; `view()` turns the state into the
 * numbers a frame shows, and is called at most ~10 times a second.
 */
import type { EndEvent, EpochEvent, EvalEvent, StartEvent, TrainEvent } from "../../../core/train/events.ts";
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
}

export class DashboardState {
  start: StartEvent | null = null;
  end: EndEvent | null = null;
  eval: EvalEvent | null = null;
  notice: string | null = null;
  readonly epochEvents: EpochEvent[] = [];
  readonly history: RunHistory;

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

  constructor(historyCapacity = 256) {
    this.history = new RunHistory(historyCapacity);
  }

  apply(e: TrainEvent): void {
    this.version++;
    this.eval = e.type === "eval" ? e : null;
    switch (e.type) {
      case "start":
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
    };
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
