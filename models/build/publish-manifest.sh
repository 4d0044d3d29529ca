#!/usr/bin/env bash
# Writes models/manifest.json with the release CLI (`edgeinfer-models`, packages/models-cli), exactly
# as a user publishes their own models: every size, SHA-256, input/output spec and reference probe is
# read or computed from the artifacts, never typed. `npm test` runs `edgeinfer-models validate` on
# the result (every file exists with the size and SHA-256 the manifest says).
# Run from anywhere after build-all.sh / quantize-all.sh: bash models/build/publish-manifest.sh
set -euo pipefail
cd "$(dirname "$0")/../.."

# In this repo the CLI runs from its TypeScript sources (the `source` export condition); users run `npx edgeinfer-models`.
models_cli() { node --conditions=source --import tsx packages/models-cli/bin/edgeinfer-models.js "$@" --manifest "$next"; }

# Built beside the real one (paths are relative to it) and moved into place at the end, so a dev server
# never serves a half-built manifest.
next=models/.manifest.next.json
trap 'rm -f "$next"' EXIT
models_cli init --schema ../packages/models-cli/manifest.schema.json --force

FASHION_LABELS='T-shirt/top,Trouser,Pullover,Dress,Coat,Sandal,Shirt,Sneaker,Bag,Ankle boot'
for version in 1.0.0 1.1.0; do
  dir=models/fashion-mnist/$version
  models_cli add fashion-mnist "$version" "$dir/model.onnx" --labels "$FASHION_LABELS" --mean 0.286 --std 0.353
  # Quantized by quantize-all.sh (calibrated on the committed test images): recorded with its report, not re-run.
  models_cli add fashion-mnist "$version" "$dir/model.int8.onnx" --variant int8 --from fp32 --report "$dir/model.int8.report.json"
  models_cli add fashion-mnist "$version" "$dir/tfjs/model.json"
  models_cli add fashion-mnist "$version" "$dir/tfjs-uint8/model.json"
done
models_cli canary fashion-mnist 1.1.0 10

# No probes for the 224x224 models yet: a probe stores its input as raw float32 (1x3x224x224 is ~800 kB
# of base64 per variant), which would add a fifth to the int8 download. See docs/manifest.md.
dir=models/mobilenetv2/1.0.0
models_cli add mobilenetv2 1.0.0 "$dir/model.onnx" --mean 0.485,0.456,0.406 --std 0.229,0.224,0.225 --no-probe \
  --notes 'UNTRAINED: seeded random weights, for speed benchmarks only. Its labels mean nothing.'
models_cli add mobilenetv2 1.0.0 "$dir/model.int8.onnx" --variant int8 --from fp32 --report "$dir/model.int8.report.json" --no-probe
models_cli add mobilenetv2 1.0.0 "$dir/model.int8-qdq.onnx" --variant int8-qdq --from fp32 --report "$dir/model.int8-qdq.report.json" --no-probe

models_cli add content-safety 1.0.0 models/content-safety/1.0.0/model.json --labels 'Drawing,Hentai,Neutral,Porn,Sexy' --no-probe \
  --input-names input --output-names probabilities \
  --notes 'MobileNetV2 from the nsfwjs npm package, uint8-quantized weights, extracted by models/build/extract-nsfwjs.mjs.'

models_cli validate
mv "$next" models/manifest.json
echo "wrote models/manifest.json"
