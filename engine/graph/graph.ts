/**
 * The graph IR: values with dtypes and (partly symbolic) shapes, nodes in creation order
 * (which is a topological order), graph inputs, initializers and outputs. `toOnnx` writes
 * it as an ONNX ModelProto.
 *
 * Ops are created through `engine/graph/ops.ts`, where each op's shape rule and gradient
 * rule stand side by side; this module knows nothing of any particular op.
 */
import type { FloatTensor } from '../tensor';
import { AttributeType, DataType, F, ProtoWriter } from './proto';

export type DType = 'float32' | 'float64' | 'int64' | 'int32' | 'uint32' | 'bool';
/** A dimension: a number, or a name for a size known only at run time (e.g. `batch`). */
export type Dim = number | string;
export type Shape = readonly Dim[];

export interface Value {
  readonly id: number;
  readonly name: string;
  readonly dtype: DType;
  readonly shape: Shape;
  /** The node that computes it; undefined for graph inputs, initializers and constants. */
  readonly producer: Node | undefined;
}

export type AttrValue =
  | { readonly int: number }
  | { readonly float: number }
  | { readonly ints: readonly number[] }
  | { readonly floats: readonly number[] }
  | { readonly string: string }
  | { readonly tensor: ConstantData };

export interface Node {
  readonly op: string;
  readonly inputs: readonly (Value | undefined)[];
  readonly outputs: readonly Value[];
  readonly attrs: Readonly<Record<string, AttrValue>>;
}

/** Data of a constant or initializer. */
export type ConstantData =
  | { readonly dtype: 'float32'; readonly shape: readonly number[]; readonly data: Float32Array }
  | { readonly dtype: 'float64'; readonly shape: readonly number[]; readonly data: Float64Array }
  | { readonly dtype: 'int64'; readonly shape: readonly number[]; readonly data: BigInt64Array }
  | { readonly dtype: 'bool'; readonly shape: readonly number[]; readonly data: Uint8Array }
  | { readonly dtype: 'int32'; readonly shape: readonly number[]; readonly data: Int32Array }
  | { readonly dtype: 'uint32'; readonly shape: readonly number[]; readonly data: Uint32Array };

export class Graph {
  private nextId = 0;
  readonly nodes: Node[] = [];
  readonly inputs: Value[] = [];
  readonly outputs: Value[] = [];
  readonly initializers = new Map<Value, ConstantData>();
  private readonly names = new Set<string>();

  constructor(readonly name = 'adapter_lab') {}

  private value(name: string, dtype: DType, shape: Shape, producer: Node | undefined): Value {
    let unique = name;
    for (let i = 1; this.names.has(unique); i++) unique = `${name}_${i}`;
    this.names.add(unique);
    return { id: this.nextId++, name: unique, dtype, shape, producer };
  }

  /** A value the caller feeds at every run. */
  input(name: string, dtype: DType, shape: Shape): Value {
    if (this.names.has(name)) throw new Error(`graph input name "${name}" is taken`);
    const v = this.value(name, dtype, shape, undefined);
    this.inputs.push(v);
    return v;
  }

  /** A value stored in the model (frozen weights, constants). */
  initializer(name: string, data: ConstantData): Value {
    const v = this.value(name, data.dtype, data.shape, undefined);
    this.initializers.set(v, data);
    return v;
  }

  floatInitializer(name: string, tensor: FloatTensor): Value {
    return this.initializer(name, { dtype: 'float32', shape: tensor.shape, data: tensor.data });
  }

  /** Adds a node; output shapes and dtypes come from the op's shape rule. */
  node(op: string, inputs: readonly (Value | undefined)[], attrs: Readonly<Record<string, AttrValue>>, outputs: readonly { dtype: DType; shape: Shape }[], name?: string): Value[] {
    const made: Value[] = [];
    const node: Node = { op, inputs, outputs: made, attrs };
    outputs.forEach((o, i) => made.push(this.value(name ? (outputs.length > 1 ? `${name}_${i}` : name) : `${op.toLowerCase()}_${this.nextId}`, o.dtype, o.shape, node)));
    this.nodes.push(node);
    return made;
  }

  output(value: Value, name?: string): Value {
    if (name && name !== value.name) {
      const renamed = this.node('Identity', [value], {}, [{ dtype: value.dtype, shape: value.shape }], name)[0]!;
      this.outputs.push(renamed);
      return renamed;
    }
    this.outputs.push(value);
    return value;
  }

  /** Serialises to an ONNX model (opset 18, IR version 8). */
  toOnnx(opset = 18, docString = ''): Uint8Array {
    const graph = new ProtoWriter();
    for (const node of this.nodes) graph.message(F.graph.node, nodeProto(node));
    graph.string(F.graph.name, this.name);
    for (const [v, data] of this.initializers) graph.message(F.graph.initializer, tensorProto(v.name, data));
    for (const v of this.inputs) graph.message(F.graph.input, valueInfo(v));
    for (const v of this.outputs) graph.message(F.graph.output, valueInfo(v));
    const model = new ProtoWriter()
      .int(F.model.irVersion, 8)
      .string(F.model.producerName, 'adapter-lab')
      .string(F.model.producerVersion, '0.1.0');
    if (docString) model.string(F.model.docString, docString);
    model.message(F.model.graph, graph);
    model.message(F.model.opsetImport, new ProtoWriter().string(F.opset.domain, '').int(F.opset.version, opset));
    return model.finish();
  }
}

function nodeProto(node: Node): ProtoWriter {
  const w = new ProtoWriter();
  for (const i of node.inputs) w.string(F.node.input, i ? i.name : '');
  for (const o of node.outputs) w.string(F.node.output, o.name);
  w.string(F.node.name, `${node.op}_${node.outputs[0]?.name ?? ''}`);
  w.string(F.node.opType, node.op);
  for (const [name, value] of Object.entries(node.attrs)) w.message(F.node.attribute, attributeProto(name, value));
  return w;
}

function attributeProto(name: string, value: AttrValue): ProtoWriter {
  const w = new ProtoWriter().string(F.attribute.name, name);
  if ('int' in value) return w.int(F.attribute.i, value.int).int(F.attribute.type, AttributeType.INT);
  if ('float' in value) return w.float(F.attribute.f, value.float).int(F.attribute.type, AttributeType.FLOAT);
  if ('ints' in value) return w.packedInts(F.attribute.ints, value.ints).int(F.attribute.type, AttributeType.INTS);
  if ('floats' in value) return w.packedFloats(F.attribute.floats, value.floats).int(F.attribute.type, AttributeType.FLOATS);
  if ('string' in value) return w.string(F.attribute.s, value.string).int(F.attribute.type, AttributeType.STRING);
  return w.message(F.attribute.t, tensorProto('', value.tensor)).int(F.attribute.type, AttributeType.TENSOR);
}

function tensorProto(name: string, data: ConstantData): ProtoWriter {
  const w = new ProtoWriter();
  if (data.shape.length) w.packedInts(F.tensor.dims, data.shape);
  w.int(F.tensor.dataType, DataType[data.dtype]);
  if (name) w.string(F.tensor.name, name);
  const bytes = new Uint8Array(data.data.buffer, data.data.byteOffset, data.data.byteLength);
  return w.bytes(F.tensor.rawData, bytes);
}

function valueInfo(v: Value): ProtoWriter {
  const shape = new ProtoWriter();
  for (const d of v.shape) {
    shape.message(F.shape.dim, typeof d === 'number' ? new ProtoWriter().int(F.dimension.value, d) : new ProtoWriter().string(F.dimension.param, d));
  }
  const tensorType = new ProtoWriter().int(F.tensorType.elemType, DataType[v.dtype]).message(F.tensorType.shape, shape);
  return new ProtoWriter().string(F.valueInfo.name, v.name).message(F.valueInfo.type, new ProtoWriter().message(F.type.tensorType, tensorType));
}
