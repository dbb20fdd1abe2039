/** One AdamW update over every tensor of a model, with weight decay only where the layout says so. */
import type { Model } from "../model/model.js";

/** AdamW hyper-parameters. */
export interface AdamW {
  lr: number;
  beta1: number;
  beta2: number;
  eps: number;
  weightDecay: number;
}

/** Applies one AdamW step (t counts from 1) to the model's parameters from its gradients; m and v are the moments. */
export function adamwStep(model: Model, m: Float32Array, v: Float32Array, o: AdamW, t: number): void {
  const { flat: p } = model.params;
  const { flat: g } = model.grads;
  for (const s of model.params.specs) {
    const e = s.offset + s.size;
    model.kernels.adamw(
      p.subarray(s.offset, e),
      g.subarray(s.offset, e),
      m.subarray(s.offset, e),
      v.subarray(s.offset, e),
      s.size,
      o.lr,
      o.beta1,
      o.beta2,
      o.eps,
      s.decay ? o.weightDecay : 0,
      t,
    );
  }
}
