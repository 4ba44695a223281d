/**
 * Averages the gradients of every rank, as PyTorch's DistributedDataParallel does: parameters are
 * grouped into buckets in reverse registration order (roughly the order backward produces their
 * gradients) — the first bucket capped at 1 MB, the rest at 25 MB by default (DDP's caps) — and a
 * bucket's all-reduce is started as soon as backward() has produced the last gradient in it
 * (a post-accumulate-grad hook on each parameter). finish() waits for all of them and sets each
 * parameter's .grad to the average over ranks.
 *
 * What overlaps. Host path (MPI): a ready bucket is copied to host memory and its MPI_Iallreduce
 * started; backward() then goes on computing the remaining gradients, and each later hook calls
 * MPI_Test on the pending reductions so the engine moves them along (JavaScript is one thread, so
 * the engine runs only inside those calls or in its own progress thread if it has one). The
 * transfer of an early bucket therefore proceeds between the kernels of the rest of backward; the
 * last bucket is always waited for. Device path (NCCL): the all-reduce is queued on the device
 * stream as soon as the bucket is ready, so the host keeps queueing backward's kernels, but the
 * GPU runs them in stream order after it (xt has one stream).
 *
 * Every rank starts the buckets in bucket order (a bucket that becomes ready early waits for the
 * earlier ones), because MPI requires all ranks to start collectives in the same order.
 * A parameter that received no gradient on this rank contributes zeros.
 * The average is sum / size, computed after the sum (for size a power of two this equals DDP's
 * divide-then-sum exactly).
 */
import type { Backend, Storage } from "../backend.ts";
import { XtError } from "../errors.ts";
import { contiguousStrides } from "../shape.ts";
import { Tensor } from "../tensor.ts";
import type { Collective, DeviceCollective, PendingReduction, ReduceBuffer } from "./collective.ts";

export const DEFAULT_FIRST_BUCKET_BYTES = 1024 * 1024;
export const DEFAULT_BUCKET_BYTES = 25 * 1024 * 1024;

export interface GradientAllReducerOptions {
  /** Cap of every bucket after the first, in bytes (DDP's bucket_cap_mb: 25 MB). */
  bucketBytes?: number;
  /** Cap of the first bucket (the last parameters), so the first all-reduce starts early (1 MB). */
  firstBucketBytes?: number;
  /** Reduce on the device (NCCL) instead of through host memory, when it supports the parameters' backend. */
  device?: DeviceCollective;
}

/** One bucket: a run of parameters of one dtype, packed at fixed offsets into a flat buffer. */
export interface Bucket {
  readonly params: Tensor[];
  readonly offsets: number[];
  /** Elements in the bucket. */
  readonly count: number;
}

interface BucketState extends Bucket {
  dtype: "float32" | "float64";
  /** Parameters whose gradient is final in this step. */
  ready: number;
  launched: boolean;
  pending: PendingReduction | null;
  host: ReduceBuffer | null;
  device: Storage | null;
}

/** Time spent in the all-reduce over the last step, for benchmarks and the dashboard. */
export interface AllReduceTiming {
  /** ms in the engine's calls made during backward (copy to host, start, progress). */
  duringBackwardMs: number;
  /** ms in finish(): starting what was left, waiting, averaging, writing the gradients back. */
  finishMs: number;
  /** Bytes reduced. */
  bytes: number;
  /** Buckets whose all-reduce started inside backward() (the rest started in finish()). */
  startedInBackward: number;
  buckets: number;
}

export class GradientAllReducer {
  readonly buckets: readonly Bucket[];
  private readonly states: BucketState[];
  private readonly bucketOf = new Map<Tensor, BucketState>();
  private readonly backend: Backend;
  private readonly device: DeviceCollective | null;
  private removeHooks: (() => void)[] = [];
  /** Next bucket to launch (all before it are launched). */
  private next = 0;
  private timing: AllReduceTiming = { duringBackwardMs: 0, finishMs: 0, bytes: 0, startedInBackward: 0, buckets: 0 };
  /** ms spent in hooks since the last finish(). */
  private hookMs = 0;

  constructor(params: Tensor[], readonly collective: Collective, opts: GradientAllReducerOptions = {}) {
    if (params.length === 0) throw new XtError("GradientAllReducer: no parameters");
    this.backend = params[0]!.backend;
    for (const p of params) {
      if (p.backend !== this.backend) throw new XtError("GradientAllReducer: parameters live on different devices");
      if (p.dtype !== "float32" && p.dtype !== "float64") throw new XtError(`GradientAllReducer: cannot reduce ${p.dtype} parameters`);
      if (!p.isLeaf) throw new XtError("GradientAllReducer: parameters must be leaf tensors");
    }
    if (new Set(params).size !== params.length) throw new XtError("GradientAllReducer: a parameter is listed twice");
    this.device = opts.device && opts.device.supports(this.backend) ? opts.device : null;
    this.states = assignBuckets(params, opts.firstBucketBytes ?? DEFAULT_FIRST_BUCKET_BYTES, opts.bucketBytes ?? DEFAULT_BUCKET_BYTES);
    for (const b of this.states) for (const p of b.params) this.bucketOf.set(p, b);
    this.buckets = this.states;
  }

  /** Where the reduction runs, for the start event: "host (MPI)" or the device collective's name. */
  get path(): string {
    return this.device ? this.device.description : `host memory, ${this.collective.description}`;
  }

  /** The timing of the last finish(). */
  get lastTiming(): AllReduceTiming {
    return this.timing;
  }

  /**
   * Start each bucket's all-reduce from inside backward(), as soon as its gradients are final.
   * Without attach(), finish() does all the work after backward.
   */
  attach(): this {
    if (this.collective.size === 1 || this.removeHooks.length) return this;
    for (const [p, b] of this.bucketOf) {
      this.removeHooks.push(p.registerPostAccumulateGradHook(() => this.onGradReady(b)));
    }
    return this;
  }

  detach(): void {
    for (const remove of this.removeHooks) remove();
    this.removeHooks = [];
  }

  private onGradReady(b: BucketState): void {
    const t0 = performance.now();
    if (b.launched) {
      throw new XtError("data-parallel training: a gradient was produced twice before finish() (accumulating gradients over several backward() calls is not supported)");
    }
    b.ready++;
    while (this.next < this.states.length && this.states[this.next]!.ready === this.states[this.next]!.params.length) {
      this.launch(this.states[this.next++]!);
    }
    for (let i = 0; i < this.next; i++) this.states[i]!.pending?.test();
    this.hookMs += performance.now() - t0;
  }

  /** Wait for every bucket and replace each parameter's .grad by the average over ranks. */
  finish(): void {
    if (this.collective.size === 1) return;
    const t0 = performance.now();
    const startedInBackward = this.next;
    while (this.next < this.states.length) this.launch(this.states[this.next++]!);
    const size = this.collective.size;
    let bytes = 0;
    for (const b of this.states) {
      b.pending!.wait();
      b.pending = null;
      bytes += b.count * (b.dtype === "float32" ? 4 : 8);
      const averaged = this.device ? this.averageOnDevice(b, size) : this.averageOnHost(b, size);
      b.params.forEach((p, i) => {
        p.grad = new Tensor(this.backend, averaged, [...p.shape], contiguousStrides(p.shape), b.offsets[i]!);
      });
      b.ready = 0;
      b.launched = false;
    }
    this.next = 0;
    this.timing = { duringBackwardMs: this.hookMs, finishMs: performance.now() - t0, bytes, startedInBackward, buckets: this.states.length };
    this.hookMs = 0;
  }

  private launch(b: BucketState): void {
    b.launched = true;
    if (this.device) {
      b.device ??= this.backend.full(b.count, 0, b.dtype);
      b.params.forEach((p, i) => {
        const dst = { storage: b.device!, shape: p.shape, strides: contiguousStrides(p.shape), offset: b.offsets[i]! };
        const g = p.grad ?? new Tensor(this.backend, this.backend.full(p.numel, 0, b.dtype), [...p.shape]);
        this.backend.copyInto(dst, g);
      });
      this.device.allreduceSum(b.device, b.count);
      b.pending = { test: () => true, wait: () => {} };
      return;
    }
    const host = (b.host ??= b.dtype === "float32" ? new Float32Array(b.count) : new Float64Array(b.count));
    b.params.forEach((p, i) => {
      if (p.grad) host.set(p.grad.data() as ReduceBuffer, b.offsets[i]!);
      else host.fill(0, b.offsets[i]!, b.offsets[i]! + p.numel);
    });
    b.pending = this.collective.startAllreduceSum(host);
  }

  private averageOnHost(b: BucketState, size: number): Storage {
    const host = b.host!;
    for (let i = 0; i < host.length; i++) host[i] = host[i]! / size;
    return this.backend.fromHost(host, b.dtype);
  }

  private averageOnDevice(b: BucketState, size: number): Storage {
    const n = { storage: this.backend.fromHost([size], b.dtype), shape: [b.count], strides: [0], offset: 0 };
    return this.backend.binary("div", { storage: b.device!, shape: [b.count], strides: [1], offset: 0 }, n, b.dtype);
  }
}

/**
 * DDP's compute_bucket_assignment_by_size, in reverse parameter order: a bucket closes once it
 * holds at least its cap (or the dtype changes); the first cap applies to the first bucket only.
 */
function assignBuckets(params: Tensor[], firstCap: number, cap: number): BucketState[] {
  if (!(firstCap > 0) || !(cap > 0)) throw new XtError("GradientAllReducer: bucket sizes must be positive");
  const out: BucketState[] = [];
  let cur: { params: Tensor[]; offsets: number[]; count: number; dtype: "float32" | "float64" } | null = null;
  const close = (): void => {
    if (cur) out.push({ ...cur, ready: 0, launched: false, pending: null, host: null, device: null });
    cur = null;
  };
  for (let i = params.length - 1; i >= 0; i--) {
    const p = params[i]!;
    const dtype = p.dtype as "float32" | "float64";
    if (cur && cur.dtype !== dtype) close();
    cur ??= { params: [], offsets: [], count: 0, dtype };
    cur.params.push(p);
    cur.offsets.push(cur.count);
    cur.count += p.numel;
    if (cur.count * (dtype === "float32" ? 4 : 8) >= (out.length === 0 ? firstCap : cap)) close();
  }
  close();
  return out;
}
