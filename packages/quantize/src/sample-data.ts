import { readFileSync, readdirSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { EdgeInferError, mulberry32 } from '@edgeinfer/core';
import type { Feeds } from './calibration.js';

export interface ImagePreprocessing {
  /** Per channel, applied as (pixel / 255 - mean) / std; one value applies to every channel. */
  readonly mean?: readonly number[];
  readonly std?: readonly number[];
  /** Where the channel axis is in one sample's dims: 'NCHW' means dims [C, H, W]. */
  readonly layout?: 'NCHW' | 'NHWC';
}

export interface SampleSet {
  /** All samples back to back, each `sampleDims` large. */
  readonly data: Float32Array;
  /** One sample's dims, without the batch axis. */
  readonly sampleDims: readonly number[];
  readonly count: number;
}

const FLOAT32_EXTENSIONS = new Set(['.f32', '.float32']);
const UINT8_EXTENSIONS = new Set(['.bin', '.raw', '.u8', '.uint8']);

/**
 * Reads samples from a file or a directory of files. `.bin`/`.raw`/`.u8` hold uint8 pixels in the
 * model input's layout (preprocessed with `preprocessing`); `.f32` holds float32 inputs used as they are.
 */
export function readSamples(path: string, sampleDims: readonly number[], preprocessing: ImagePreprocessing = {}, limit = Infinity): SampleSet {
  const files = statSync(path).isDirectory()
    ? readdirSync(path)
        .filter((name) => FLOAT32_EXTENSIONS.has(extname(name)) || UINT8_EXTENSIONS.has(extname(name)))
        .sort()
        .map((name) => join(path, name))
    : [path];
  const sampleSize = sampleDims.reduce((a, b) => a * b, 1);
  const chunks: Float32Array[] = [];
  let count = 0;
  for (const file of files) {
    if (count >= limit) break;
    const bytes = readFileSync(file);
    const isFloat = FLOAT32_EXTENSIONS.has(extname(file));
    const values = isFloat ? new Float32Array(new Uint8Array(bytes).buffer) : preprocess(bytes, sampleDims, preprocessing);
    if (values.length === 0 || values.length % sampleSize !== 0) {
      throw new EdgeInferError(
        'quantize/invalid-data',
        `${file} holds ${values.length} ${isFloat ? 'float32' : 'uint8'} values, not a whole number of samples of [${sampleDims.join(', ')}] (${sampleSize} values each).`,
        { details: { file, values: values.length, sampleDims: [...sampleDims] } },
      );
    }
    const take = Math.min(values.length / sampleSize, limit - count);
    chunks.push(values.subarray(0, take * sampleSize));
    count += take;
  }
  if (count === 0) throw new EdgeInferError('quantize/invalid-data', `No samples found in ${path} (expected .bin/.raw/.u8 uint8 or .f32 float32 files).`, { details: { path } });
  return { data: concat(chunks), sampleDims, count };
}

function preprocess(bytes: Uint8Array, sampleDims: readonly number[], { mean = [0], std = [1], layout = 'NCHW' }: ImagePreprocessing): Float32Array {
  const channels = (layout === 'NCHW' ? sampleDims[0] : sampleDims[sampleDims.length - 1]) ?? 1;
  const plane = layout === 'NCHW' ? sampleDims.slice(1).reduce((a, b) => a * b, 1) : 1;
  const out = new Float32Array(bytes.length);
  for (let i = 0; i < bytes.length; i += 1) {
    const c = layout === 'NCHW' ? Math.floor(i / plane) % channels : i % channels;
    out[i] = ((bytes[i] as number) / 255 - (mean[c] ?? mean[0] ?? 0)) / (std[c] ?? std[0] ?? 1);
  }
  return out;
}

function concat(chunks: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(chunks.reduce((sum, chunk) => sum + chunk.length, 0));
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

/** Seeded uniform-noise images (uint8 pixels, then `preprocessing`): stand-ins when a model has no data. */
export function syntheticSamples(count: number, sampleDims: readonly number[], preprocessing: ImagePreprocessing = {}, seed = 1): SampleSet {
  const sampleSize = sampleDims.reduce((a, b) => a * b, 1);
  const random = mulberry32(seed);
  const pixels = new Uint8Array(count * sampleSize);
  for (let i = 0; i < pixels.length; i += 1) pixels[i] = Math.floor(random() * 256);
  return { data: preprocess(pixels, sampleDims, preprocessing), sampleDims, count };
}

/** Splits samples into batches for one graph input. */
export function toFeeds(inputName: string, samples: SampleSet, batchSize: number): Feeds[] {
  const sampleSize = samples.data.length / samples.count;
  const feeds: Feeds[] = [];
  for (let start = 0; start < samples.count; start += batchSize) {
    const size = Math.min(batchSize, samples.count - start);
    feeds.push({ [inputName]: { data: samples.data.subarray(start * sampleSize, (start + size) * sampleSize), dims: [size, ...samples.sampleDims] } });
  }
  return feeds;
}

export function readLabels(path: string): Uint8Array {
  return new Uint8Array(readFileSync(path));
}
