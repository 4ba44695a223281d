/**
 * Reverse-mode autograd over a dynamic graph. Each differentiable op records a GradFn on its
 * output; backward() walks the graph in reverse topological order and accumulates gradients.
 * Gradients are computed with ordinary tensor ops while recording is off (no double backward).
 */
import type { Tensor } from "./tensor.ts";

export interface GradFn {
  readonly name: string;
  /** The inputs the op read (null where no gradient can flow). */
  readonly inputs: readonly (Tensor | null)[];
  /** Given d(loss)/d(output), return d(loss)/d(input) per input (null = no gradient). */
  backward(grad: Tensor): (Tensor | null)[];
}

let gradEnabled = true;

export function isGradEnabled(): boolean {
  return gradEnabled;
}

/** Run fn with graph recording off (PyTorch's torch.no_grad()). */
export function noGrad<T>(fn: () => T): T {
  const prev = gradEnabled;
  gradEnabled = false;
  try {
    return fn();
  } finally {
    gradEnabled = prev;
  }
}

/** True when an op on these inputs must record a GradFn. */
export function needsGrad(...inputs: (Tensor | null | undefined)[]): boolean {
  if (!gradEnabled) return false;
  for (const t of inputs) if (t && t.requiresGrad) return true;
  return false;
}

/** Reverse topological order of the graph below `root` (root first). */
function topoOrder(root: Tensor): Tensor[] {
  const order: Tensor[] = [];
  const seen = new Set<Tensor>();
  // Iterative DFS: models are deep enough to overflow a recursive walk.
  const stack: [Tensor, number][] = [[root, 0]];
  seen.add(root);
  while (stack.length > 0) {
    const top = stack[stack.length - 1]!;
    const [t, i] = top;
    const inputs = t.gradFn ? t.gradFn.inputs : [];
    if (i < inputs.length) {
      top[1] = i + 1;
      const inp = inputs[i];
      if (inp && inp.requiresGrad && !seen.has(inp)) {
        seen.add(inp);
        stack.push([inp, 0]);
      }
    } else {
      stack.pop();
      order.push(t);
    }
  }
  return order.reverse();
}

export function runBackward(root: Tensor, grad: Tensor, add: (a: Tensor, b: Tensor) => Tensor): void {
  const order = topoOrder(root);
  const grads = new Map<Tensor, Tensor>();
  grads.set(root, grad);
  noGrad(() => {
    for (const t of order) {
      const g = grads.get(t);
      if (!g) continue;
      grads.delete(t);
      if (!t.gradFn) {
        // A leaf: accumulate into .grad like PyTorch.
        t.grad = t.grad ? add(t.grad, g) : g.detach();
        // Reverse topological order: no later node adds to this leaf, so its .grad is final here.
        if (t.postAccumulateGradHooks) for (const hook of t.postAccumulateGradHooks) hook(t);
        continue;
      }
      if (t.retainsGrad) t.grad = t.grad ? add(t.grad, g) : g.detach();
      const inGrads = t.gradFn.backward(g);
      const inputs = t.gradFn.inputs;
      for (let i = 0; i < inputs.length; i++) {
        const inp = inputs[i];
        const ig = inGrads[i];
        if (!inp || !ig || !inp.requiresGrad) continue;
        const prev = grads.get(inp);
        grads.set(inp, prev ? add(prev, ig) : ig);
      }
    }
  });
}
