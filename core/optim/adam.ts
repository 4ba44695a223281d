/** torch.optim.Adam (single-tensor path, amsgrad off): per-parameter step count, exp_avg, exp_avg_sq. */
import type { Storage } from "../backend.ts";
import { XtError } from "../errors.ts";
import type { Tensor } from "../tensor.ts";

export interface AdamOptions {
  lr?: number;
  betas?: [number, number];
  eps?: number;
  weightDecay?: number;
}

interface ParamState {
  step: number;
  expAvg: Storage;
  expAvgSq: Storage;
}

/** Serialisable optimizer state: per parameter index, its step and moment buffers (host arrays). */
export interface AdamStateDict {
  lr: number;
  betas: [number, number];
  eps: number;
  weightDecay: number;
  state: { step: number; expAvg: number[] | Float32Array; expAvgSq: number[] | Float32Array }[];
}

export class Adam {
  lr: number;
  readonly betas: [number, number];
  readonly eps: number;
  readonly weightDecay: number;
  private readonly state = new Map<Tensor, ParamState>();

  constructor(readonly params: Tensor[], opts: AdamOptions = {}) {
    this.lr = opts.lr ?? 1e-3;
    this.betas = opts.betas ?? [0.9, 0.999];
    this.eps = opts.eps ?? 1e-8;
    this.weightDecay = opts.weightDecay ?? 0;
    if (!(this.lr >= 0)) throw new XtError(`Adam: invalid learning rate ${this.lr}`);
    if (!(this.weightDecay >= 0)) throw new XtError(`Adam: invalid weight decay ${this.weightDecay}`);
    for (const p of params) {
      if (!p.isContiguous() || p.offset !== 0) throw new XtError("Adam: parameters must be contiguous leaf tensors");
    }
  }

  zeroGrad(): void {
    for (const p of this.params) p.grad = null;
  }

  step(): void {
    for (const p of this.params) {
      if (!p.grad) continue;
      let s = this.state.get(p);
      if (!s) {
        s = { step: 0, expAvg: p.backend.full(p.numel, 0, p.dtype), expAvgSq: p.backend.full(p.numel, 0, p.dtype) };
        this.state.set(p, s);
      }
      s.step += 1;
      p.backend.adamStepInPlace(p.storage, p.grad, s.expAvg, s.expAvgSq, {
        lr: this.lr,
        beta1: this.betas[0],
        beta2: this.betas[1],
        eps: this.eps,
        weightDecay: this.weightDecay,
        step: s.step,
      });
    }
  }

  stateDict(): AdamStateDict {
    return {
      lr: this.lr,
      betas: this.betas,
      eps: this.eps,
      weightDecay: this.weightDecay,
      state: this.params.map((p) => {
        const s = this.state.get(p);
        if (!s) return { step: 0, expAvg: [], expAvgSq: [] };
        return {
          step: s.step,
          expAvg: p.backend.toHost(s.expAvg) as Float32Array,
          expAvgSq: p.backend.toHost(s.expAvgSq) as Float32Array,
        };
      }),
    };
  }

  loadStateDict(sd: AdamStateDict): void {
    if (sd.state.length !== this.params.length) {
      throw new XtError(`Adam: optimizer state has ${sd.state.length} parameters, the model has ${this.params.length}`);
    }
    this.lr = sd.lr;
    this.params.forEach((p, i) => {
      const s = sd.state[i]!;
      if (s.step === 0) return;
      if (s.expAvg.length !== p.numel || s.expAvgSq.length !== p.numel) {
        throw new XtError(`Adam: optimizer state for parameter ${i} has ${s.expAvg.length} values, the parameter has ${p.numel}`);
      }
      this.state.set(p, {
        step: s.step,
        expAvg: p.backend.fromHost(s.expAvg, p.dtype),
        expAvgSq: p.backend.fromHost(s.expAvgSq, p.dtype),
      });
    });
  }
}
