/**
 * Reverse-mode differentiation over the graph IR.
 *
 * Only values that depend on a trainable parameter get gradients: a node is differentiated
 * only when one of its inputs depends on `wrt`, and its gradient rule is told which inputs
 * need a gradient. Frozen weights and everything computed from frozen inputs alone (for
 * example the layers below AdapterDrop's dropped range) get no backward nodes at all.
 * A composite (`Ops.composite`) is differentiated by its own rule, as if it were one op.
 */
import type { Node, Value } from './graph';
import { OPS, type Ops } from './ops';

export function gradients(o: Ops, loss: Value, wrt: readonly Value[]): Map<Value, Value> {
  const nodes = o.graph.nodes;
  const depends = new Set<Value>(wrt);
  for (const node of nodes) {
    if (node.inputs.some((i) => i && depends.has(i))) for (const out of node.outputs) if (!o.detached.has(out)) depends.add(out);
  }
  if (!depends.has(loss)) throw new Error('the loss does not depend on any trainable parameter');

  const grads = new Map<Value, Value>();
  const accumulate = (v: Value, g: Value): void => {
    const prev = grads.get(v);
    grads.set(v, prev ? o.add(prev, g) : g);
  };
  const end = nodes.indexOf(loss.producer as Node);
  accumulate(loss, o.expandLike(o.scalar(1, loss.dtype), loss));
  // Walk backwards over the forward nodes only (the backward nodes are appended as we go).
  for (let k = end; k >= 0; k--) {
    const node = nodes[k]!;
    const dOut = node.outputs.map((v) => grads.get(v));
    if (dOut.every((g) => g === undefined)) continue;
    // A composite's last node stands for the whole composite: its rule, its inputs.
    const composite = o.composites.get(node.outputs[0]!);
    const inputs = composite ? composite.inputs : node.inputs;
    const needs = inputs.map((i) => i !== undefined && depends.has(i));
    if (!needs.some(Boolean)) continue;
    let dIn: (Value | undefined)[];
    if (composite) dIn = composite.grad(o, dOut[0]!, needs);
    else {
      const rule = OPS[node.op]?.grad;
      if (!rule) throw new Error(`op ${node.op} (${node.outputs[0]?.name}) has no gradient rule but a trainable parameter flows through it`);
      dIn = rule(o, node, dOut, needs);
    }
    inputs.forEach((input, i) => {
      const g = dIn[i];
      if (input && needs[i] && g) accumulate(input, g);
    });
  }
  const out = new Map<Value, Value>();
  for (const p of wrt) {
    const g = grads.get(p);
    out.set(p, g ?? o.zerosLike(p));
  }
  return out;
}
