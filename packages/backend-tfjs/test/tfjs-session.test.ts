import { isEdgeInferError, type ModelFiles } from '@edgeinfer/core';
import { describe, expect, it } from 'vitest';
import { createTfjsBackend } from '../src/index.js';
import { fourOutputGraph, whileLoopGraph, type TfjsGraphModel } from '../../../e2e/support/check-models.js';

/** The backend's own load/run path on TF.js's cpu backend in Node: the same code the browser backends run. */
function graphFiles(model: TfjsGraphModel): ModelFiles {
  const weights = model.weights.buffer.slice(model.weights.byteOffset, model.weights.byteOffset + model.weights.byteLength) as ArrayBuffer;
  return {
    format: 'tfjs-graph',
    dtype: 'float32',
    entry: 'm/model.json',
    files: { 'm/model.json': new TextEncoder().encode(JSON.stringify(model.modelJson)).buffer as ArrayBuffer, 'm/weights.bin': weights },
  };
}

const x = (dims: number[], values: number[]) => ({ dtype: 'float32' as const, dims, data: Float32Array.from(values) });

describe('TF.js graph sessions', () => {
  it('runs a graph with a while loop (executeAsync) and answers 8x', async () => {
    const session = await createTfjsBackend('cpu').load(graphFiles(whileLoopGraph()), { ioNames: { inputs: ['x'], outputs: ['y'] } });
    const { y } = await session.run({ x: x([1, 3], [1, -2.5, 3]) });
    expect(Array.from(y!.data as Float32Array)).toEqual([8, -20, 24]);
    await session.dispose();
  });

  it('returns every output under its own name whatever order the manifest lists them in', async () => {
    const order = ['squared', 'column_max', 'row_sums', 'negated'];
    const session = await createTfjsBackend('cpu').load(graphFiles(fourOutputGraph()), { ioNames: { inputs: ['x'], outputs: order } });
    const outputs = await session.run({ x: x([2, 3], [1, 2, 3, 4, 5, 6]) });
    expect(Object.keys(outputs)).toEqual(order);
    expect(Array.from(outputs.squared!.data as Float32Array)).toEqual([1, 4, 9, 16, 25, 36]);
    expect(Array.from(outputs.column_max!.data as Float32Array)).toEqual([4, 5, 6]);
    expect(Array.from(outputs.row_sums!.data as Float32Array)).toEqual([6, 15]);
    expect(Array.from(outputs.negated!.data as Float32Array)).toEqual([-1, -2, -3, -4, -5, -6]);
    await session.dispose();
  });

  it('refuses manifest names the graph does not have instead of guessing by position', async () => {
    const load = createTfjsBackend('cpu').load(graphFiles(fourOutputGraph()), { ioNames: { inputs: ['x'], outputs: ['a', 'b', 'c', 'd'] } });
    await expect(load).rejects.toSatisfy((error) => isEdgeInferError(error, 'engine/model-invalid') && /"a"/.test((error as Error).message));
  });

  it('gives engine/dtype-unsupported for a dtype TF.js cannot carry, so selection moves on', async () => {
    const session = await createTfjsBackend('cpu').load(graphFiles(whileLoopGraph()), { ioNames: { inputs: ['x'], outputs: ['y'] } });
    const run = session.run({ x: { dtype: 'float64', dims: [1, 3], data: Float64Array.from([1, 2, 3]) } });
    await expect(run).rejects.toSatisfy((error) => isEdgeInferError(error, 'engine/dtype-unsupported'));
    await session.dispose();
  });
});
