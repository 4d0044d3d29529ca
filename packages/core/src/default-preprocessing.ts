import { EdgeInferError } from './errors.js';
import type { Preprocessing, TensorSpec } from './manifest.js';

export interface Normalization {
  /** One value for every channel, or one per channel (ImageNet). */
  readonly mean: number | readonly number[];
  readonly std: number | readonly number[];
}

/** Pixels scaled to [0, 1] and fed as they are: what a model file that says nothing else gets. */
export const UNIT_NORMALIZATION: Normalization = { mean: 0, std: 1 };

/**
 * The image preprocessing a rank-4 input implies: channels (1 or 3) second means NCHW, last means
 * NHWC; when both could be, `preferredLayout` decides (ONNX exports are usually NCHW, TF.js NHWC).
 * A model file carries no mean/std, so they come from `normalization`.
 */
export function defaultPreprocessing(input: TensorSpec, preferredLayout: 'NCHW' | 'NHWC', normalization: Normalization = UNIT_NORMALIZATION): Preprocessing {
  if (input.shape.length !== 4) {
    throw new EdgeInferError(
      'engine/model-invalid',
      `The model's input "${input.name}" has shape [${input.shape.join(', ')}]; an image input has shape [batch, channels, height, width] or [batch, height, width, channels]. Give preprocessing yourself, or use run().`,
      { details: { input: input.name, shape: [...input.shape] } },
    );
  }
  const isChannels = (dim: unknown) => dim === 1 || dim === 3;
  const layout = isChannels(input.shape[1]) && !isChannels(input.shape[3]) ? 'NCHW' : isChannels(input.shape[3]) && !isChannels(input.shape[1]) ? 'NHWC' : preferredLayout;
  const [channelsDim, heightDim, widthDim] = layout === 'NCHW' ? [input.shape[1], input.shape[2], input.shape[3]] : [input.shape[3], input.shape[1], input.shape[2]];
  const channels = channelsDim === 1 ? 1 : 3;
  // A dynamic height/width (a named dim) gets the usual 224.
  const size = (dim: unknown) => (typeof dim === 'number' && dim > 0 ? dim : 224);
  const perChannel = (value: number | readonly number[]) =>
    typeof value === 'number' ? Array<number>(channels).fill(value) : channels === 1 ? [value.reduce((sum, v) => sum + v, 0) / value.length] : [...value];
  return { width: size(widthDim), height: size(heightDim), channels, layout, mean: perChannel(normalization.mean), std: perChannel(normalization.std) };
}
