// Reference outputs from onnxruntime-node (native CPU provider), for probes and specs. Node only.
import * as ort from 'onnxruntime-node';
import { fromWire, toWire, type WireDtype, type WireTensor } from './wire-tensors.js';

export async function onnxNodeReference(model: Uint8Array, inputs: Record<string, WireTensor>): Promise<Record<string, WireTensor>> {
  const session = await ort.InferenceSession.create(model, { executionProviders: ['cpu'] });
  try {
    const feeds = Object.fromEntries(Object.entries(inputs).map(([name, wire]) => [name, new ort.Tensor(wire.dtype, fromWire(wire) as never, wire.dims)]));
    const results = await session.run(feeds);
    const outputs: Record<string, WireTensor> = {};
    for (const name of session.outputNames) {
      const tensor = results[name]!;
      outputs[name] = toWire(tensor.type as WireDtype, tensor.dims, tensor.data as never);
    }
    return outputs;
  } finally {
    await session.release();
  }
}
