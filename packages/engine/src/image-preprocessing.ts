import { EdgeInferError, type Preprocessing, type Tensor } from '@edgeinfer/core';

export type ImageInput = ImageBitmap | ImageData | HTMLImageElement | HTMLCanvasElement | HTMLVideoElement | OffscreenCanvas | Blob | VideoFrame;

function invalidImage(message: string, cause?: unknown): EdgeInferError {
  return new EdgeInferError('engine/invalid-image', `${message} Pass a decoded image (ImageBitmap, <img>, <canvas>, <video>, ImageData) or an image Blob (PNG, JPEG, WebP...).`, {
    ...(cause ? { cause } : {}),
  });
}

async function toDrawable(source: ImageInput): Promise<CanvasImageSource | ImageData> {
  if (typeof Blob !== 'undefined' && source instanceof Blob) {
    if (source.type && !source.type.startsWith('image/')) throw invalidImage(`A ${source.type} file is not an image.`);
    try {
      return await createImageBitmap(source);
    } catch (cause) {
      throw invalidImage('The file could not be decoded as an image.', cause);
    }
  }
  if (typeof HTMLImageElement !== 'undefined' && source instanceof HTMLImageElement && (!source.complete || source.naturalWidth === 0)) {
    throw invalidImage('The <img> has not loaded (or failed to load).');
  }
  if (typeof HTMLVideoElement !== 'undefined' && source instanceof HTMLVideoElement && source.readyState < 2) {
    throw invalidImage('The <video> has no frame yet.');
  }
  return source as CanvasImageSource | ImageData;
}

/** Resizes and normalises an image into the model's input tensor, per the manifest's preprocessing. */
export async function imageToTensor(source: ImageInput, pre: Preprocessing): Promise<Tensor<'float32'>> {
  const drawable = await toDrawable(source);
  const canvas = new OffscreenCanvas(pre.width, pre.height);
  const context = canvas.getContext('2d', { willReadFrequently: true });
  if (!context) throw invalidImage('No 2D canvas is available to read the image.');
  if (drawable instanceof ImageData) {
    if (drawable.width === 0 || drawable.height === 0) throw invalidImage('The ImageData is empty.');
    const holder = new OffscreenCanvas(drawable.width, drawable.height);
    holder.getContext('2d')!.putImageData(drawable, 0, 0);
    context.drawImage(holder, 0, 0, pre.width, pre.height);
  } else {
    try {
      context.drawImage(drawable, 0, 0, pre.width, pre.height);
    } catch (cause) {
      throw invalidImage('The image could not be drawn.', cause);
    }
  }
  const pixels = context.getImageData(0, 0, pre.width, pre.height).data;
  const plane = pre.width * pre.height;
  const data = new Float32Array(plane * pre.channels);
  for (let i = 0; i < plane; i++) {
    const r = pixels[i * 4]! / 255;
    const g = pixels[i * 4 + 1]! / 255;
    const b = pixels[i * 4 + 2]! / 255;
    const values = pre.channels === 1 ? [0.299 * r + 0.587 * g + 0.114 * b] : [r, g, b];
    for (let c = 0; c < pre.channels; c++) {
      const raw = pre.invert ? 1 - values[c]! : values[c]!;
      const normalised = (raw - pre.mean[c]!) / pre.std[c]!;
      data[pre.layout === 'NCHW' ? c * plane + i : i * pre.channels + c] = normalised;
    }
  }
  const dims = pre.layout === 'NCHW' ? [1, pre.channels, pre.height, pre.width] : [1, pre.height, pre.width, pre.channels];
  return { dtype: 'float32', dims, data };
}
