import { EdgeInferError, type ModelFiles } from '@edgeinfer/core';
import type * as Tf from '@tensorflow/tfjs';

interface WeightsGroup {
  paths: string[];
  weights: Tf.io.WeightsManifestEntry[];
}

interface ModelJson {
  format?: string;
  modelTopology: object;
  weightsManifest: WeightsGroup[];
}

function parseModelJson(files: ModelFiles): ModelJson {
  const text = new TextDecoder().decode(files.files[files.entry]);
  try {
    const json = JSON.parse(text) as ModelJson;
    if (!json.modelTopology || !Array.isArray(json.weightsManifest)) throw new Error('modelTopology or weightsManifest is missing');
    return json;
  } catch (cause) {
    throw new EdgeInferError('engine/model-invalid', `${files.entry} is not a TF.js model.json: ${(cause as Error).message}.`, {
      details: { file: files.entry },
      cause,
    });
  }
}

/** TF.js reads weights from memory: the weight files, in manifest order, as one buffer. */
function concatWeights(files: ModelFiles, groups: WeightsGroup[]): ArrayBuffer {
  const base = files.entry.includes('/') ? files.entry.slice(0, files.entry.lastIndexOf('/') + 1) : '';
  const parts = groups.flatMap((group) =>
    group.paths.map((path) => {
      const bytes = files.files[base + path] ?? files.files[path];
      if (!bytes) throw new EdgeInferError('engine/model-invalid', `The TF.js model names a weight file "${path}" that was not loaded.`, { details: { file: path } });
      return new Uint8Array(bytes);
    }),
  );
  const total = parts.reduce((sum, part) => sum + part.byteLength, 0);
  const out = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    out.set(part, offset);
    offset += part.byteLength;
  }
  return out.buffer;
}

/**
 * Ops that make TF.js refuse `execute()` ("... has the dynamic op 'Exit'. Please use
 * model.executeAsync()"): control flow, and ops whose output shape depends on data. The list is
 * tfjs-converter's own (CONTROL_FLOW_OPS, DYNAMIC_SHAPE_OPS in executor/model_analysis) plus the
 * TensorArray/TensorList ops that only run inside loops.
 */
const DYNAMIC_OPS = new Set([
  'Switch', 'Merge', 'Enter', 'Exit', 'NextIteration', 'LoopCond', 'StatelessIf', 'StatelessWhile', 'If', 'While', 'if',
  'NonMaxSuppressionV2', 'NonMaxSuppressionV3', 'NonMaxSuppressionV4', 'NonMaxSuppressionV5', 'Where',
]);

interface GraphNode {
  op?: string;
}

interface GraphTopology {
  node?: GraphNode[];
  library?: { function?: { nodeDef?: GraphNode[] }[] };
}

/** Whether a graph model needs executeAsync: a dynamic op in the graph or in its function library (TF2 While/If bodies). */
export function graphNeedsAsync(modelTopology: object): boolean {
  const topology = modelTopology as GraphTopology;
  const nodes = [...(topology.node ?? []), ...(topology.library?.function ?? []).flatMap((fn) => fn.nodeDef ?? [])];
  return nodes.some((node) => typeof node.op === 'string' && DYNAMIC_OPS.has(node.op));
}

export type LoadedTfjsModel = { kind: 'layers'; model: Tf.LayersModel } | { kind: 'graph'; model: Tf.GraphModel; needsAsync: boolean };

export async function loadTfjsModel(tf: typeof Tf, files: ModelFiles): Promise<LoadedTfjsModel> {
  const json = parseModelJson(files);
  const handler = tf.io.fromMemory({
    modelTopology: json.modelTopology,
    weightSpecs: json.weightsManifest.flatMap((group) => group.weights),
    weightData: concatWeights(files, json.weightsManifest),
    ...(json.format ? { format: json.format } : {}),
  });
  try {
    return files.format === 'tfjs-graph'
      ? { kind: 'graph', model: await tf.loadGraphModel(handler), needsAsync: graphNeedsAsync(json.modelTopology) }
      : { kind: 'layers', model: await tf.loadLayersModel(handler) };
  } catch (cause) {
    throw new EdgeInferError('engine/model-invalid', `TF.js could not build the model from ${files.entry}: ${(cause as Error).message}`, {
      details: { file: files.entry },
      cause,
    });
  }
}
