import { EdgeInferError, elementCount, isTensor, type NamedTensors, type TensorSpec } from '@edgeinfer/core';

/** Checks feeds against the model's declared inputs before any backend sees them. */
export function validateInputs(feeds: NamedTensors, specs: readonly TensorSpec[]): void {
  if (typeof feeds !== 'object' || feeds === null) {
    throw new EdgeInferError('engine/input-name', `run() takes an object of named tensors, e.g. { ${specs[0]?.name ?? 'input'}: tensor }.`);
  }
  const expected = specs.map((spec) => spec.name);
  for (const name of Object.keys(feeds)) {
    if (!expected.includes(name)) {
      throw new EdgeInferError('engine/input-name', `The model has no input "${name}"; its inputs are ${expected.join(', ')}.`, { details: { name, expected } });
    }
  }
  for (const spec of specs) {
    const tensor = feeds[spec.name];
    if (!tensor) throw new EdgeInferError('engine/input-name', `Input "${spec.name}" is missing.`, { details: { name: spec.name, expected } });
    if (!isTensor(tensor)) {
      throw new EdgeInferError('engine/input-dtype', `Input "${spec.name}" is not a tensor: pass { dtype, dims, data } (see createTensor).`, { details: { name: spec.name } });
    }
    if (tensor.dtype !== spec.dtype) {
      throw new EdgeInferError('engine/input-dtype', `Input "${spec.name}" must be ${spec.dtype}, got ${tensor.dtype}.`, {
        details: { name: spec.name, expected: spec.dtype, actual: tensor.dtype },
      });
    }
    const shapeMatches =
      tensor.dims.length === spec.shape.length && spec.shape.every((dim, index) => typeof dim === 'string' || dim === tensor.dims[index]) && tensor.dims.every((dim) => Number.isInteger(dim) && dim >= 0);
    if (!shapeMatches) {
      throw new EdgeInferError('engine/input-shape', `Input "${spec.name}" must have shape [${spec.shape.join(', ')}], got [${tensor.dims.join(', ')}].`, {
        details: { name: spec.name, expected: [...spec.shape], actual: [...tensor.dims] },
      });
    }
    if (tensor.data.length !== elementCount(tensor.dims)) {
      throw new EdgeInferError('engine/input-shape', `Input "${spec.name}" has ${tensor.data.length} values but shape [${tensor.dims.join(', ')}] needs ${elementCount(tensor.dims)}.`, {
        details: { name: spec.name, length: tensor.data.length, dims: [...tensor.dims] },
      });
    }
  }
}
