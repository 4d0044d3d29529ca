#!/usr/bin/env bash
# Rebuilds every model artifact under models/ (about 5 minutes on 2 cores):
#   bash models/build/build-all.sh
# Needs Debian's python3 with torch, torchvision, onnx, numpy, PIL, and the dataset-fashion-mnist
# package (/usr/share/datasets/fashion-mnist). Nothing is downloaded. CI never runs this: it uses
# the committed artifacts. models/manifest.json is written afterwards by models/build/publish-manifest.sh (the release CLI).
set -euo pipefail
cd "$(dirname "$0")/../.."
PY="${PYTHON:-/usr/bin/python3}"
B=models/build

step() {
  local start=$SECONDS
  echo "== $*"
  "$PY" "$@"
  echo "== done in $((SECONDS - start)) s"
}

# Fashion-MNIST 1.0.0: the default model.
step "$B/train_fashion_mnist.py" --version 1.0.0 --seed 0 --epochs 6
step "$B/convert_tfjs.py" --version 1.0.0
# Fashion-MNIST 1.1.0: same network, another seed, more epochs, horizontal-flip augmentation
# (a genuinely different model for rollout/rollback).
step "$B/train_fashion_mnist.py" --version 1.1.0 --seed 1 --epochs 8 --hflip
step "$B/convert_tfjs.py" --version 1.1.0
# Gallery PNGs and the eval sample (needs both versions above).
step "$B/render_gallery.py" --versions 1.0.0 1.1.0
# MobileNetV2, untrained, for speed benchmarks.
step "$B/export_mobilenetv2.py"
echo "All model artifacts rebuilt in ${SECONDS} s. Then: bash models/build/publish-manifest.sh"
