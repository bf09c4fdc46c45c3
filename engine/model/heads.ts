/**
 * The task heads' tensors: which parameters each head has, with their shapes. What a
 * head computes, its loss and its initialisation belong to its task kind
 * (engine/tasks/<kind>.ts); the tensors are known here because checkpoint formats and
 * parameter counts need them without running anything.
 */
import * as names from './names';

export type HeadSpec =
  | { readonly kind: 'classification' | 'regression'; readonly numLabels: number }
  | { readonly kind: 'span' }
  /** The masked-LM head; its decoder is the word-embedding matrix, so it adds no [vocab, d] weight. */
  | { readonly kind: 'mlm'; readonly vocabSize: number };

/** The head's parameters by name, in a fixed order, with shapes, for hidden size `d`. */
export function headShapes(head: HeadSpec, d: number): Map<string, readonly number[]> {
  const out = new Map<string, readonly number[]>();
  switch (head.kind) {
    case 'span':
      return out.set(names.qaOutputs.weight, [2, d]).set(names.qaOutputs.bias, [2]);
    case 'mlm': {
      const m = names.mlmHead;
      out.set(m.transform.weight, [d, d]).set(m.transform.bias, [d]).set(m.layerNorm.weight, [d]).set(m.layerNorm.bias, [d]);
      return out.set(m.bias, [head.vocabSize]);
    }
    case 'classification':
    case 'regression':
      out.set(names.pooler.weight, [d, d]).set(names.pooler.bias, [d]);
      return out.set(names.classifier.weight, [head.numLabels, d]).set(names.classifier.bias, [head.numLabels]);
  }
}
