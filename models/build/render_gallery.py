"""Writes the demo gallery and the evaluation files used without Python.

    /usr/bin/python3 models/build/render_gallery.py

  models/gallery/<label-slug>-<n>.png   20 test images (2 per class), each classified correctly by
                                        every fp32 model version given, upscaled 4x (nearest) to
                                        112x112, 8-bit grayscale; downscaling back to 28x28 (any
                                        filter at an exact factor of 4) gives the original pixels
  models/gallery/index.json             [{file, label, labelIndex, testIndex}]
  models/fashion-mnist/eval/test-1000.bin          first 1000 test images, uint8, 28x28 row-major, 784000 bytes
  models/fashion-mnist/eval/test-1000-labels.bin   their labels, 1000 uint8 (index into the label list)
  models/fashion-mnist/eval/README.md              the format of the two files
"""
import argparse
import os
import sys
import time

import numpy as np
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fashion_common as fc  # noqa: E402
from onnx_numpy import OnnxNumpyModel  # noqa: E402

PER_CLASS = 2
UPSCALE = 4
EVAL_COUNT = 1000

EVAL_README = """# Fashion-MNIST evaluation sample

Written by `models/build/render_gallery.py` from Debian's dataset-fashion-mnist
(`/usr/share/datasets/fashion-mnist/t10k-*`). Used by the TypeScript quantizer (calibration and
accuracy) and the browser tests, so neither needs Python or the dataset package.

- `test-1000.bin`: the first 1000 images of the Fashion-MNIST test set (test indices 0..999), raw
  uint8 pixels, 28x28 row-major, one image after another: 1000 x 784 = 784000 bytes, no header.
  Image `i` is bytes `[i*784, (i+1)*784)`.
- `test-1000-labels.bin`: 1000 uint8 labels, same order, index into
  `["T-shirt/top","Trouser","Pullover","Dress","Coat","Sandal","Shirt","Sneaker","Bag","Ankle boot"]`.

Model input from pixels: `x = (pixel / 255 - 0.2860) / 0.3530`, float32, shape `[n,1,28,28]` (ONNX,
NCHW) or `[n,28,28,1]` (TF.js, NHWC). Data licence: MIT, Zalando Research (Fashion-MNIST).
"""


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--versions", nargs="+", default=["1.0.0", "1.1.0"],
                   help="gallery images must be classified correctly by every one of these")
    args = p.parse_args()
    started = time.time()
    images, labels = fc.load_split("test")

    eval_dir = os.path.join(fc.FASHION_DIR, "eval")
    os.makedirs(eval_dir, exist_ok=True)
    with open(os.path.join(eval_dir, "test-1000.bin"), "wb") as f:
        f.write(np.ascontiguousarray(images[:EVAL_COUNT], dtype=np.uint8).tobytes())
    with open(os.path.join(eval_dir, "test-1000-labels.bin"), "wb") as f:
        f.write(labels[:EVAL_COUNT].astype(np.uint8).tobytes())
    with open(os.path.join(eval_dir, "README.md"), "w") as f:
        f.write(EVAL_README)

    x = fc.preprocess(images)
    correct = np.ones(len(images), bool)
    for version in args.versions:
        path = os.path.join(fc.version_dir(version), "model.onnx")
        if not os.path.exists(path):
            raise SystemExit(f"{path} is missing: train that version first")
        correct &= OnnxNumpyModel(path).run_batched(x).argmax(1) == labels

    gallery_dir = os.path.join(fc.MODELS_DIR, "gallery")
    os.makedirs(gallery_dir, exist_ok=True)
    for name in os.listdir(gallery_dir):
        if name.endswith(".png"):
            os.remove(os.path.join(gallery_dir, name))
    index = []
    for c, label in enumerate(fc.LABELS):
        picks = np.flatnonzero((labels == c) & correct)[:PER_CLASS]
        for n, test_index in enumerate(picks):
            file = f"{fc.slug(label)}-{n}.png"
            img = Image.fromarray(images[test_index], mode="L")
            img = img.resize((28 * UPSCALE, 28 * UPSCALE), Image.NEAREST)
            img.save(os.path.join(gallery_dir, file), optimize=True)
            index.append({"file": file, "label": label, "labelIndex": c, "testIndex": int(test_index)})
    fc.write_json(os.path.join(gallery_dir, "index.json"), index)
    print(f"gallery: {len(index)} images (correct for {', '.join(args.versions)}); eval files "
          f"{EVAL_COUNT} images; {time.time() - started:.1f} s", flush=True)


if __name__ == "__main__":
    main()
