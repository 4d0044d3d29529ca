#!/usr/bin/env bash
# Regenerates every int8 ONNX artifact and its report (model.int8.onnx, model.int8.report.{json,md}),
# then the manifest. Run from anywhere: bash models/build/quantize-all.sh
# Needs only `npm ci` (onnxruntime-node and onnxruntime-web run the models; no Python, no network).
set -euo pipefail
cd "$(dirname "$0")/../.."

FASHION_EVAL=models/fashion-mnist/eval
for version in 1.0.0 1.1.0; do
  dir=models/fashion-mnist/$version
  # Calibration reads only pixel ranges (no labels) from the 1000 committed test images.
  npx edgeinfer-quantize "$dir/model.onnx" -o "$dir/model.int8.onnx" --mode static \
    --calibration "$FASHION_EVAL/test-1000.bin" --calibration-limit 1000 --mean 0.286 --std 0.353 \
    --eval "$FASHION_EVAL/test-1000.bin" --labels "$FASHION_EVAL/test-1000-labels.bin" \
    --latency-runs 500 --threads 1
done

# MobileNetV2 is untrained and has no data set: seeded noise images with ImageNet normalisation
# calibrate it (percentile, less sensitive to outliers) and evaluate it (a different seed).
# The shipped int8 variant is weights-only: int8 on the wire and in the cache, folded to float32 once at
# load on wasm (onnxruntime-web runs QDQ activations slower than float32). The static QDQ model is kept
# as int8-qdq for runtimes with fast integer kernels (native onnxruntime runs it faster than float32).
npx edgeinfer-quantize models/mobilenetv2/1.0.0/model.onnx -o models/mobilenetv2/1.0.0/model.int8.onnx --mode dynamic \
  --synthetic 64 --mean 0.485,0.456,0.406 --std 0.229,0.224,0.225 --latency-runs 50 --threads 1

npx edgeinfer-quantize models/mobilenetv2/1.0.0/model.onnx -o models/mobilenetv2/1.0.0/model.int8-qdq.onnx --mode static \
  --calibration-method percentile --synthetic 64 --mean 0.485,0.456,0.406 --std 0.229,0.224,0.225 \
  --latency-runs 50 --threads 1

bash models/build/publish-manifest.sh
