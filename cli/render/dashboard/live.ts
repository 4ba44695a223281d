/**
 * The live dashboard's event sink and render throttle, apart from ink (so it loads fast and is
 * tested without a terminal).
 *
 * Training loops are synchronous: timers do not fire while a step runs. So the sink itself
 * decides when to draw: it applies the event to the state (O(1)) and, when at least
 * `minIntervalMs` of wall time has passed since the last frame, draws one synchronously (ink's
 * rerender is synchronous). A trailing timer draws the last state if the loop goes quiet
 * (waiting on I/O, or between phases) — it only fires when the event loop is free.
 * `start`, `epoch` and `end` events are rare and draw at once.
 *
 * The sink also measures what a frame costs and spaces frames so that drawing takes at most
 * `maxOverhead` (1%) of the wall time: with ink at ~1.5 ms a frame that is the 100 ms floor; on a
 * slow or loaded machine the dashboard refreshes less often (but at least once a second).
 */
import type { EventSink, TrainEvent } from "../../../core/train/events.ts";
import { DashboardState, type DashboardView } from "./state.ts";

export interface FrameRenderer {
  /** Draw one frame (synchronously). */
  draw(view: DashboardView): void;
  /** Final frame drawn: release the terminal (cursor back, listeners off). */
  done(): void;
}

export interface LiveOptions {
  /** Minimum wall time between frames; 100 ms = at most 10 frames a second. */
  minIntervalMs?: number;
  /** Clock, for tests. */
  now?: () => number;
  /** Set false in tests to keep timers out. */
  trailing?: boolean;
  /** Most of the wall time drawing may take (default 0.01); frames are never more than 1 s apart. */
  maxOverhead?: number;
}

/** However slow frames are, draw at least once a second. */
const MAX_GAP_MS = 1000;

export class LiveDashboard {
  readonly state = new DashboardState();
  /** Frames drawn so far. */
  renders = 0;
  private renderer: FrameRenderer | null = null;
  private lastDraw = -Infinity;
  private drawnVersion = -1;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private closed = false;
  private readonly interval: number;
  private readonly now: () => number;
  private readonly trailing: boolean;
  private readonly maxOverhead: number;
  /** Moving average of a frame's cost, ms. */
  private frameMs = 0;
  /** Wall time between frames now: `interval`, or more when frames are slow. */
  gapMs: number;

  constructor(opts: LiveOptions = {}) {
    this.interval = opts.minIntervalMs ?? 100;
    this.now = opts.now ?? (() => performance.now());
    this.trailing = opts.trailing ?? true;
    this.maxOverhead = opts.maxOverhead ?? 0.01;
    this.gapMs = this.interval;
  }

  /** Whether a renderer is attached (the dashboard is on screen). */
  get attached(): boolean {
    return this.renderer !== null;
  }

  /** Start drawing with `r` (ink loads lazily; events before this are already in the state). */
  attach(r: FrameRenderer): void {
    if (this.closed) return;
    this.renderer = r;
    this.draw();
  }

  readonly sink: EventSink = (e: TrainEvent) => {
    this.state.apply(e);
    if (e.type !== "step") {
      this.draw();
      return;
    }
    const t = this.now();
    if (t - this.lastDraw >= this.gapMs) this.draw(t);
    else if (this.trailing && this.timer === null && this.renderer !== null) {
      this.timer = setTimeout(() => {
        this.timer = null;
        this.draw();
      }, Math.max(1, this.gapMs - (t - this.lastDraw)));
      (this.timer as { unref?: () => void }).unref?.();
    }
  };

  /** Show a notice (the Ctrl-C message) in the live area, at once. */
  notify(message: string | null): void {
    this.state.setNotice(message);
    this.draw();
  }

  /** Draw now if anything changed since the last frame. */
  draw(t = this.now()): void {
    if (this.renderer === null || this.closed) return;
    if (this.drawnVersion === this.state.version) return;
    this.lastDraw = t;
    this.drawnVersion = this.state.version;
    this.renders++;
    this.renderer.draw(this.state.view());
    // The first frame mounts ink (tens of ms, once): leave it out of the average.
    const cost = this.now() - t;
    if (this.renders === 2) this.frameMs = cost;
    else if (this.renders > 2) this.frameMs = 0.8 * this.frameMs + 0.2 * cost;
    this.gapMs = Math.min(MAX_GAP_MS, Math.max(this.interval, this.frameMs / this.maxOverhead));
  }

  /** Draw the final frame and release the terminal. Safe to call twice. */
  close(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.draw();
    this.closed = true;
    const r = this.renderer;
    this.renderer = null;
    r?.done();
  }
}
