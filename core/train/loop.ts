/**
 * The one training loop. Every trainer (classifiers: `train vit`, `overfit vit`; the captioning
 * solver) is this loop plus a forward pass, a batch source and hooks:
 *
 *   start event
 *   for each epoch:                          (epochs undefined: one plain run of steps, no epoch events)
 *     batches.startEpoch()                   draws what iter(DataLoader) draws; skipped when resuming inside an epoch
 *     for each step:  forward → loss → zero_grad → backward → hooks.afterBackward → optimizer.step
 *                     step event; hooks.afterStep (true: stop early); one event-loop turn; signal?
 *     hooks.evaluate → epoch event → hooks.afterEpoch (results, checkpoints); signal?
 *   hooks.atEnd (final or interrupted checkpoint) → end event
 *
 * One stop signal (an AbortSignal, looked at after each step and each epoch's end); one event
 * stream (start/step/epoch/end, from rank 0 only); the position (LoopPosition) is all a resume
 * needs besides the model, optimizer and RNG states, and a run started from a saved position
 * continues exactly as the uninterrupted run would have.
 */
import type { Module } from "../nn/module.ts";
import type { Tensor } from "../tensor.ts";
import { peakRssMb, rankSink, type EndEvent, type EpochEvent, type EvalEvent, type EventSink, type StartEvent } from "./events.ts";
import { yieldToEvents } from "./stop.ts";

/** What the loop needs from an optimizer (Adam has it). */
export interface Optimizer {
  readonly params: Tensor[];
  lr: number;
  zeroGrad(): void;
  step(): void;
}

/** A forward pass on one batch: the scalar loss to backpropagate and what the step event shows. */
export interface ForwardResult {
  loss: Tensor;
  /** Examples (images, captions) in the batch. */
  examples: number;
  /** Tokens in the batch (captioning throughput). */
  tokens?: number;
  /** Correct predictions (classifiers): the step's accuracy is correct / examples. */
  correct?: number;
}

export interface StepResult {
  loss: number;
  examples: number;
  tokens?: number;
  correct?: number;
}

/** Running sums of the epoch in progress. */
export interface EpochSums {
  /** Σ loss · examples (the classifier solver's epoch loss: weighted by batch size). */
  loss: number;
  /** Σ loss, in step order (the captioning solver's epoch loss: the mean over iterations). */
  stepLoss: number;
  correct: number;
  examples: number;
}

/** Where a run stands; saved in a checkpoint, it is where a resumed run continues. */
export interface LoopPosition {
  /** Steps done in all. */
  step: number;
  /** Epochs finished (training pass and epoch-end work). */
  epoch: number;
  /** Steps done in the epoch in progress (epoch + 1); stepsPerEpoch: its end work is still to do. */
  stepInEpoch: number;
  sums: EpochSums;
}

export const zeroSums = (): EpochSums => ({ loss: 0, stepLoss: 0, correct: 0, examples: 0 });
export const startPosition = (): LoopPosition => ({ step: 0, epoch: 0, stepInEpoch: 0, sums: zeroSums() });

export interface BatchSource<B> {
  /** At the start of each epoch's pass (not when resuming inside one): e.g. the shuffle draws. */
  startEpoch?(epoch: number): void;
  /** Batch i (0-based) of the pass in progress. */
  batch(i: number): B;
}

/** An evaluation pass's progress: examples done of the total (test split unless said). */
export type EvalProgress = (done: number, total: number, split?: EvalEvent["split"]) => void;

/** Fields an evaluation adds to the epoch event. */
export type EpochFields = Partial<Pick<EpochEvent, "valLoss" | "testLoss" | "testAcc">>;

export interface LoopHooks {
  /** Every rank, after backward and before the optimizer step: where gradients are all-reduced. */
  afterBackward?(params: Tensor[]): void;
  /** Every rank, after each step's event. Return true to end the run here (a planned stop). */
  afterStep?(r: StepResult, pos: Readonly<LoopPosition>): boolean | void;
  /**
   * Every rank, after each epoch's training pass: evaluation; its fields go into the epoch event.
   * `progress(done, total)` after each batch reports the pass (an `eval` event from rank 0).
   */
  evaluate?(epoch: number, progress: EvalProgress): EpochFields | void | Promise<EpochFields | void>;
  /** Rank 0, after each epoch event (the position already counts the epoch): results, checkpoints. */
  afterEpoch?(e: EpochEvent, pos: Readonly<LoopPosition>): void | Promise<void>;
  /** Rank 0, once at the end (finished, stopped early or interrupted): the last checkpoint; what it returns goes into the end event. */
  atEnd?(r: { interrupted: boolean; position: Readonly<LoopPosition> }): Partial<EndEvent> | void;
}

/**
 * How the ranks of a data-parallel run stay in step (core/train/data_parallel.ts): each step's
 * numbers combined over ranks (rank 0 reports the global batch) and one stop decision for all —
 * a rank that stopped alone would leave the others waiting in the next all-reduce.
 */
export interface RankAgreement {
  readonly rank: number;
  /** Called on every rank after each step, with whether this rank was asked to stop. */
  combineStep(r: StepResult, stopAsked: boolean): { r: StepResult; stop: boolean };
  /** Called on every rank after each epoch's end work. */
  agreeStop(stopAsked: boolean): boolean;
}

export interface TrainLoopOptions<B> {
  model: Module;
  optimizer: Optimizer;
  forward(batch: B): ForwardResult;
  batches: BatchSource<B>;
  stepsPerEpoch: number;
  /** Undefined: one plain run of stepsPerEpoch steps, without epoch events. */
  epochs?: number;
  /** The forward pass counts correct predictions: epoch events report the train accuracy. */
  accuracy?: boolean;
  /** How the epoch's train loss averages its steps (default "examples"). */
  epochLoss?: "examples" | "steps";
  /** The start event's description of the run. */
  start: Pick<StartEvent, "command" | "model" | "params" | "device" | "dataset"> & Partial<Pick<StartEvent, "batchSize">>;
  sink?: EventSink;
  /** The stop signal: looked at after every step and after every epoch's end work. */
  signal?: AbortSignal;
  /** This process's rank in a data-parallel run (default 0): only rank 0 reports and saves. */
  rank?: number;
  /** A data-parallel run: combine each step over ranks and stop together (its rank overrides `rank`). */
  ranks?: RankAgreement;
  /** Continue from this position (a resumed run). */
  from?: LoopPosition;
  hooks?: LoopHooks;
}

export interface LoopResult {
  position: LoopPosition;
  interrupted: boolean;
  /** afterStep asked to stop before the planned end. */
  stoppedEarly: boolean;
  /** The last step's result (undefined when no step ran). */
  last?: StepResult;
  elapsedMs: number;
}

/** One optimisation step: forward → loss → zero_grad → backward → afterBackward → optimizer step. */
export function optimizationStep<B>(
  optimizer: Optimizer,
  forward: (batch: B) => ForwardResult,
  batch: B,
  afterBackward?: (params: Tensor[]) => void,
): StepResult {
  const f = forward(batch);
  const loss = f.loss.item();
  optimizer.zeroGrad();
  f.loss.backward();
  afterBackward?.(optimizer.params);
  optimizer.step();
  return { loss, examples: f.examples, tokens: f.tokens, correct: f.correct };
}

export async function trainLoop<B>(o: TrainLoopOptions<B>): Promise<LoopResult> {
  const plain = o.epochs === undefined;
  const epochs = o.epochs ?? 1;
  const total = epochs * o.stepsPerEpoch;
  const hooks = o.hooks ?? {};
  const rank = o.ranks?.rank ?? o.rank ?? 0;
  const reporter = rank === 0;
  const emit = rankSink(o.sink ?? (() => {}), rank);
  const stopAsked = (): boolean => o.signal?.aborted ?? false;
  const pos: LoopPosition = o.from ? { ...o.from, sums: { ...o.from.sums } } : startPosition();
  const t0 = performance.now();
  const elapsed = (): number => performance.now() - t0;
  const s = o.start;
  emit({
    type: "start", command: s.command, model: s.model, params: s.params, device: s.device, dataset: s.dataset, totalSteps: total,
    ...(plain ? {} : { epochs }), ...(s.batchSize !== undefined ? { batchSize: s.batchSize } : {}), lr: o.optimizer.lr,
    ...(pos.step > 0 ? { resumedAt: pos.step } : {}),
  });
  let interrupted = false;
  let stoppedEarly = false;
  let last: StepResult | undefined;
  run: while (pos.epoch < epochs) {
    const epoch = pos.epoch + 1;
    if (pos.stepInEpoch === 0) o.batches.startEpoch?.(epoch);
    o.model.train();
    while (pos.stepInEpoch < o.stepsPerEpoch) {
      let r = optimizationStep(o.optimizer, o.forward, o.batches.batch(pos.stepInEpoch), hooks.afterBackward);
      // Ranks decide on this step's stop flag now (a Ctrl-C during the turn below counts next step).
      let agreedStop = false;
      if (o.ranks) ({ r, stop: agreedStop } = o.ranks.combineStep(r, stopAsked()));
      last = r;
      pos.step++;
      pos.stepInEpoch++;
      pos.sums.loss += r.loss * r.examples;
      pos.sums.stepLoss += r.loss;
      pos.sums.correct += r.correct ?? 0;
      pos.sums.examples += r.examples;
      emit({
        type: "step", step: pos.step, totalSteps: total, ...(plain ? {} : { epoch }), loss: r.loss, lr: o.optimizer.lr,
        examples: r.examples, ...(r.tokens !== undefined ? { tokens: r.tokens } : {}),
        ...(r.correct !== undefined ? { accuracy: r.correct / r.examples } : {}), elapsedMs: elapsed(),
      });
      const stop = hooks.afterStep?.(r, pos) === true;
      await yieldToEvents();
      if (stop && pos.step < total) {
        stoppedEarly = true;
        break run;
      }
      if ((o.ranks ? agreedStop : stopAsked()) && pos.step < total) {
        interrupted = true;
        break run;
      }
    }
    if (!plain) {
      const sums = pos.sums;
      const steps = pos.stepInEpoch;
      const trainLoss = o.epochLoss === "steps" ? sums.stepLoss / steps : sums.loss / sums.examples;
      let evalBatch = 0;
      const progress: EvalProgress = (done, total, split = "test") =>
        emit({ type: "eval", split, batch: ++evalBatch, done, total, epoch, elapsedMs: elapsed() });
      const fields = (await hooks.evaluate?.(epoch, progress)) ?? {};
      pos.epoch = epoch;
      pos.stepInEpoch = 0;
      pos.sums = zeroSums();
      const ev: EpochEvent = {
        type: "epoch", epoch, epochs, trainLoss, ...(o.accuracy ? { trainAcc: sums.correct / sums.examples } : {}),
        ...fields, elapsedMs: elapsed(),
      };
      emit(ev);
      if (reporter) await hooks.afterEpoch?.(ev, pos);
    } else {
      pos.epoch = epoch;
      pos.stepInEpoch = 0;
      pos.sums = zeroSums();
    }
    if ((o.ranks ? o.ranks.agreeStop(stopAsked()) : stopAsked()) && pos.epoch < epochs) {
      interrupted = true;
      break;
    }
  }
  const fields = reporter ? (hooks.atEnd?.({ interrupted, position: pos }) ?? {}) : {};
  const rss = peakRssMb();
  emit({ type: "end", steps: pos.step, elapsedMs: elapsed(), ...fields, ...(interrupted ? { interrupted } : {}), ...(rss !== undefined ? { peak_rss_mb: rss } : {}) });
  return { position: pos, interrupted, stoppedEarly, last, elapsedMs: elapsed() };
}
