import { EdgeInferError } from './errors.js';
import type { TensorSpec, VariantDtype } from './manifest.js';

/**
 * Reads an ONNX model's graph inputs, outputs and operator types straight from the protobuf
 * bytes, with no dependency: it walks the few fields it needs and skips the rest (initializers,
 * which are nearly all of the bytes, are skipped by length, never decoded or copied). Shared by
 * the loader (bare .onnx URLs), the demo (a dropped file) and the release CLI (`add`).
 */

/** ONNX TensorProto.DataType -> our dtype names. */
const ONNX_DTYPES: Record<number, TensorSpec['dtype']> = { 1: 'float32', 2: 'uint8', 3: 'int8', 6: 'int32', 7: 'int64', 9: 'bool', 10: 'float16' };

/** Operators that only a quantized (int8) graph contains. */
const INT8_OPS = new Set(['QuantizeLinear', 'DequantizeLinear', 'DynamicQuantizeLinear', 'QLinearConv', 'QLinearMatMul', 'MatMulInteger', 'ConvInteger', 'QLinearAdd', 'QLinearMul']);

export interface GraphIo {
  readonly inputs: TensorSpec[];
  readonly outputs: TensorSpec[];
  /** 'int8' when the graph holds quantize/dequantize or integer operators, else the first input's float type. */
  readonly dtype: VariantDtype;
  /** Distinct operator types in the main graph. */
  readonly ops: string[];
}

interface Field {
  readonly number: number;
  readonly wire: number;
  /** Varint value (wire 0). */
  readonly value: number;
  /** Payload (wire 2). */
  readonly bytes: Uint8Array;
}

class ProtoReader {
  private position = 0;
  constructor(private readonly buffer: Uint8Array) {}

  *fields(): Generator<Field> {
    while (this.position < this.buffer.length) {
      const key = this.varint();
      const number = Math.floor(key / 8);
      const wire = key % 8;
      if (number === 0) throw new Error('field number 0');
      if (wire === 0) yield { number, wire, value: this.varint(), bytes: EMPTY };
      else if (wire === 2) {
        const length = this.varint();
        const end = this.position + length;
        if (end > this.buffer.length) throw new Error(`field ${number} runs past the end`);
        yield { number, wire, value: 0, bytes: this.buffer.subarray(this.position, end) };
        this.position = end;
      } else if (wire === 1) this.skip(8);
      else if (wire === 5) this.skip(4);
      else throw new Error(`unsupported wire type ${wire}`);
    }
  }

  private skip(count: number) {
    if (this.position + count > this.buffer.length) throw new Error('truncated');
    this.position += count;
  }

  /** Up to 2^53 exactly; dims and enums are far below that. */
  private varint(): number {
    let result = 0;
    let scale = 1;
    for (let index = 0; index < 10; index++) {
      if (this.position >= this.buffer.length) throw new Error('truncated varint');
      const byte = this.buffer[this.position++]!;
      result += (byte & 0x7f) * scale;
      if (byte < 0x80) return result;
      scale *= 128;
    }
    throw new Error('varint too long');
  }
}

const EMPTY = new Uint8Array(0);
const utf8 = new TextDecoder();
const fieldsOf = (bytes: Uint8Array) => new ProtoReader(bytes).fields();

/** ValueInfoProto { name = 1; type = 2 } -> TypeProto { tensor_type = 1 } -> { elem_type = 1; shape = 2 { dim = 1 { dim_value = 1; dim_param = 2 } } } */
function readValueInfo(bytes: Uint8Array, index: number): TensorSpec {
  let name = '';
  let elemType = 0;
  let isTensor = false;
  const shape: (number | string)[] = [];
  for (const field of fieldsOf(bytes)) {
    if (field.number === 1 && field.wire === 2) name = utf8.decode(field.bytes);
    if (field.number !== 2 || field.wire !== 2) continue;
    for (const typeField of fieldsOf(field.bytes)) {
      if (typeField.number !== 1 || typeField.wire !== 2) continue;
      isTensor = true;
      for (const tensorField of fieldsOf(typeField.bytes)) {
        if (tensorField.number === 1 && tensorField.wire === 0) elemType = tensorField.value;
        if (tensorField.number !== 2 || tensorField.wire !== 2) continue;
        for (const dimField of fieldsOf(tensorField.bytes)) {
          if (dimField.number !== 1 || dimField.wire !== 2) continue;
          let size: number | string = 0;
          for (const part of fieldsOf(dimField.bytes)) {
            if (part.number === 1 && part.wire === 0) size = part.value;
            if (part.number === 2 && part.wire === 2) size = utf8.decode(part.bytes);
          }
          shape.push(typeof size === 'number' && size > 0 ? size : typeof size === 'string' && size ? size : `dim${shape.length}`);
        }
      }
    }
  }
  const dtype = ONNX_DTYPES[elemType];
  if (!name || !isTensor || !dtype) {
    throw new EdgeInferError('engine/model-invalid', `ONNX graph input/output ${name || index} is not a tensor of a supported type (element type ${elemType}).`, {
      details: { name: name || null, elemType },
    });
  }
  return { name, dtype, shape };
}

/** The first string in field `number`: TensorProto.name = 8, NodeProto.op_type = 4, ValueInfoProto.name = 1. */
function stringField(bytes: Uint8Array, number: number): string {
  for (const field of fieldsOf(bytes)) if (field.number === number && field.wire === 2) return utf8.decode(field.bytes);
  return '';
}

/** Reads the graph's real inputs (not its initializers) and outputs from the ONNX protobuf. */
export function readOnnxGraphIo(bytes: Uint8Array): GraphIo {
  try {
    let graph: Uint8Array | undefined;
    // ModelProto { graph = 7 }
    for (const field of fieldsOf(bytes)) if (field.number === 7 && field.wire === 2) graph = field.bytes;
    if (!graph) throw new Error('it has no graph');
    const inputs: Uint8Array[] = [];
    const outputs: Uint8Array[] = [];
    const initializers = new Set<string>();
    const ops = new Set<string>();
    // GraphProto { node = 1; initializer = 5; input = 11; output = 12 }
    for (const field of fieldsOf(graph)) {
      if (field.wire !== 2) continue;
      if (field.number === 1) ops.add(stringField(field.bytes, 4));
      else if (field.number === 5) initializers.add(stringField(field.bytes, 8));
      else if (field.number === 11) inputs.push(field.bytes);
      else if (field.number === 12) outputs.push(field.bytes);
    }
    if (inputs.length === 0 || outputs.length === 0) throw new Error('its graph has no inputs or no outputs');
    // An initializer listed among the inputs (old exporters) is a weight, not something to feed.
    const inputSpecs = inputs.filter((input) => !initializers.has(stringField(input, 1))).map(readValueInfo);
    const outputSpecs = outputs.map(readValueInfo);
    const quantized = [...ops].some((op) => INT8_OPS.has(op));
    const first = inputSpecs[0]?.dtype;
    const dtype: VariantDtype = quantized ? 'int8' : first === 'float16' ? 'float16' : 'float32';
    return { inputs: inputSpecs, outputs: outputSpecs, dtype, ops: [...ops].filter(Boolean) };
  } catch (cause) {
    if (cause instanceof EdgeInferError) throw cause;
    throw new EdgeInferError('engine/model-invalid', `This file is not an ONNX model (${(cause as Error).message}).`, { cause });
  }
}

/** True when the bytes start like an ONNX ModelProto (field 1 ir_version varint, or another known top field). */
export function looksLikeOnnx(bytes: Uint8Array): boolean {
  // 0x08 = field 1 (ir_version) as a varint: every exporter writes it first.
  return bytes.length > 8 && bytes[0] === 0x08;
}
