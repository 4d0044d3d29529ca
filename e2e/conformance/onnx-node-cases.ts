// Reads the ONNX project's backend node tests (Debian's libonnx-testdata, data/node): one model per
// operator case, with TensorProto inputs and reference outputs. Node only.
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import { toWire, type WireData, type WireDtype, type WireTensor } from './wire-tensors.js';

const { onnx } = onnxProto;

export const NODE_TESTS_DIR = process.env.ONNX_NODE_TESTS ?? '/usr/share/libonnx-testdata/data/node';

/** ONNX TensorProto.DataType -> our dtype; the rest (bfloat16, float8, int4, complex) edgeinfer tensors do not carry. */
const DTYPE_BY_ONNX: Record<number, WireDtype> = {
  1: 'float32', 2: 'uint8', 3: 'int8', 4: 'uint16', 5: 'int16', 6: 'int32', 7: 'int64', 8: 'string', 9: 'bool', 10: 'float16', 11: 'float64', 12: 'uint32', 13: 'uint64',
};

export type { WireTensor };

export interface NodeCase {
  readonly name: string;
  /** Why the engine cannot be handed this case at all (a sequence input, a bfloat16 tensor...). */
  readonly unsupported?: string;
  readonly modelBase64: string;
  readonly sha256: string;
  readonly size: number;
  readonly inputs: { name: string; tensor: WireTensor }[];
  readonly outputs: { name: string; tensor: WireTensor }[];
}

type Long = { toString(): string } | number;
const big = (value: Long) => BigInt(value.toString());
const num = (value: Long) => Number(value.toString());

/** A TensorProto as a wire tensor: raw_data when present, else the typed field the dtype lives in. */
export function decodeTensorProto(bytes: Uint8Array): WireTensor | string {
  const proto = onnx.TensorProto.decode(bytes);
  const dtype = DTYPE_BY_ONNX[proto.dataType];
  if (!dtype) return `TensorProto data type ${proto.dataType} (${onnx.TensorProto.DataType[proto.dataType]}) is not an edgeinfer dtype`;
  const dims = proto.dims.map(num);
  const count = dims.reduce((a, b) => a * b, 1);
  if (dtype === 'string') return toWire('string', dims, proto.stringData.map((entry) => new TextDecoder().decode(entry)));
  const raw = proto.rawData && proto.rawData.length > 0 ? proto.rawData : undefined;
  const fromRaw = <T>(View: new (buffer: ArrayBuffer) => T) => {
    const copy = new Uint8Array(raw!.length);
    copy.set(raw!);
    return new View(copy.buffer);
  };
  const tensorOf = (data: WireData) => {
    if (data.length !== count) throw new Error(`${dtype} TensorProto has ${data.length} values for dims [${dims}]`);
    return toWire(dtype, dims, data);
  };
  switch (dtype) {
    case 'float32':
      return tensorOf(raw ? fromRaw(Float32Array) : Float32Array.from(proto.floatData));
    case 'float64':
      return tensorOf(raw ? fromRaw(Float64Array) : Float64Array.from(proto.doubleData));
    case 'int64':
      return tensorOf(raw ? fromRaw(BigInt64Array) : BigInt64Array.from(proto.int64Data.map(big)));
    case 'uint64':
      return tensorOf(raw ? fromRaw(BigUint64Array) : BigUint64Array.from(proto.uint64Data.map(big)));
    case 'uint32':
      return tensorOf(raw ? fromRaw(Uint32Array) : Uint32Array.from(proto.uint64Data.map(num)));
    case 'int32':
      return tensorOf(raw ? fromRaw(Int32Array) : Int32Array.from(proto.int32Data));
    case 'int16':
      return tensorOf(raw ? fromRaw(Int16Array) : Int16Array.from(proto.int32Data));
    case 'uint16':
    case 'float16':
      return tensorOf(raw ? fromRaw(Uint16Array) : Uint16Array.from(proto.int32Data));
    case 'int8':
      return tensorOf(raw ? fromRaw(Int8Array) : Int8Array.from(proto.int32Data));
    case 'uint8':
    case 'bool':
      return tensorOf(raw ? fromRaw(Uint8Array) : Uint8Array.from(proto.int32Data));
  }
}

interface ValueInfo {
  name: string;
  kind: 'tensor' | 'other';
  dtype?: WireDtype;
  onnxType: string;
}

function valueInfo(info: onnxProto.onnx.IValueInfoProto): ValueInfo {
  const type = info.type;
  if (type?.tensorType) {
    const elem = type.tensorType.elemType ?? 0;
    const dtype = DTYPE_BY_ONNX[elem];
    return { name: info.name ?? '', kind: 'tensor', ...(dtype ? { dtype } : {}), onnxType: onnx.TensorProto.DataType[elem] ?? String(elem) };
  }
  return { name: info.name ?? '', kind: 'other', onnxType: type?.sequenceType ? 'sequence' : type?.optionalType ? 'optional' : type?.mapType ? 'map' : 'unknown' };
}

export function listCaseNames(dir = NODE_TESTS_DIR): string[] {
  return readdirSync(dir)
    .filter((name) => existsSync(join(dir, name, 'model.onnx')) && existsSync(join(dir, name, 'test_data_set_0')))
    .sort();
}

export function readCase(name: string, dir = NODE_TESTS_DIR): NodeCase {
  const folder = join(dir, name);
  const modelBytes = readFileSync(join(folder, 'model.onnx'));
  const model = onnx.ModelProto.decode(modelBytes);
  const graph = model.graph!;
  const initializers = new Set((graph.initializer ?? []).map((entry) => entry.name));
  const graphInputs = (graph.input ?? []).filter((entry) => !initializers.has(entry.name ?? '')).map(valueInfo);
  const graphOutputs = (graph.output ?? []).map(valueInfo);
  const dataDir = join(folder, 'test_data_set_0');
  const files = readdirSync(dataDir);
  const count = (prefix: string) => files.filter((file) => file.startsWith(prefix) && file.endsWith('.pb')).length;
  const base = { name, modelBase64: modelBytes.toString('base64'), sha256: createHash('sha256').update(modelBytes).digest('hex'), size: modelBytes.byteLength };
  const problems: string[] = [];
  const read = (kind: 'input' | 'output', infos: ValueInfo[], total: number) =>
    Array.from({ length: total }, (_, index) => {
      const info = infos[index];
      if (!info) {
        problems.push(`${kind}_${index}.pb has no graph ${kind}`);
        return undefined;
      }
      if (info.kind !== 'tensor') {
        problems.push(`${kind} "${info.name}" is a ${info.onnxType}, not a tensor`);
        return undefined;
      }
      if (!info.dtype) {
        problems.push(`${kind} "${info.name}" is ${info.onnxType}`);
        return undefined;
      }
      const tensor = decodeTensorProto(readFileSync(join(dataDir, `${kind}_${index}.pb`)));
      if (typeof tensor === 'string') {
        problems.push(`${kind} "${info.name}": ${tensor}`);
        return undefined;
      }
      return { name: info.name, tensor };
    }).filter((entry): entry is { name: string; tensor: WireTensor } => entry !== undefined);
  const inputs = read('input', graphInputs, count('input_'));
  const outputs = read('output', graphOutputs, count('output_'));
  return { ...base, inputs, outputs, ...(problems.length ? { unsupported: problems.join('; ') } : {}) };
}
