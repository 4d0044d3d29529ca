"""Exports an UNTRAINED MobileNetV2 to ONNX, for speed benchmarks only.

    /usr/bin/python3 models/build/export_mobilenetv2.py

torchvision.models.mobilenet_v2(weights=None, num_classes=1000) with torch.manual_seed(0): the
weights are torchvision's seeded random initialisation, not trained. Its outputs mean nothing; the
model exists to measure latency, memory and the 224x224 input path with a real architecture.

One step beyond the raw initialisation: the BatchNorm running statistics are estimated from
64 seeded Gaussian-noise images (train-mode forward passes, no gradient, no weight update).
With torchvision's raw init in eval mode (running mean 0, var 1) the activations shrink about
10x per stage and the logits end near 1e-8, which would make output-tolerance checks and int8
activation calibration meaningless. After the re-estimation activations have unit-ish scale.

Writes models/mobilenetv2/1.0.0/:
  model.onnx      input "input" float32 [batch,3,224,224] -> "logits" float32 [batch,1000], opset 13
  metrics.json    size, sha256, params, ops, the ONNX-vs-torch check, export time
  reference.json  torch logits (first 10 of 1000) for one seeded input, for conformance tests
"""
import hashlib
import os
import sys
import time

import numpy as np
import torch
import torchvision

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fashion_common as fc  # noqa: E402  (paths and write_json)
from onnx_numpy import OnnxNumpyModel  # noqa: E402

VERSION = "1.0.0"
OPSET = 13


BN_CALIBRATION_BATCHES = 4
BN_CALIBRATION_BATCH_SIZE = 16


@torch.no_grad()
def recalibrate_batchnorm(model):
    """Sets BatchNorm running mean/var to their cumulative averages over seeded noise inputs."""
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.reset_running_stats()
            m.momentum = None  # cumulative moving average
    model.train()
    gen = torch.Generator().manual_seed(1)
    for _ in range(BN_CALIBRATION_BATCHES):
        model(torch.randn(BN_CALIBRATION_BATCH_SIZE, 3, 224, 224, generator=gen))
    model.eval()


def main():
    started = time.time()
    torch.manual_seed(0)
    np.random.seed(0)
    torch.set_num_threads(2)
    out_dir = os.path.join(fc.MODELS_DIR, "mobilenetv2", VERSION)
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, "model.onnx")

    model = torchvision.models.mobilenet_v2(weights=None, num_classes=1000)
    recalibrate_batchnorm(model)
    params = sum(p.numel() for p in model.parameters())
    torch.onnx.export(model, torch.zeros(1, 3, 224, 224), path, opset_version=OPSET,
                      input_names=["input"], output_names=["logits"],
                      dynamic_axes={"input": {0: "batch"}, "logits": {0: "batch"}},
                      do_constant_folding=True)
    export_seconds = time.time() - started

    # A fixed input (seeded normal noise, like a normalised image) run through torch and the file.
    x = np.random.default_rng(0).standard_normal((2, 3, 224, 224)).astype(np.float32)
    with torch.no_grad():
        ref = model(torch.from_numpy(x)).numpy()
    onnx_model = OnnxNumpyModel(path)
    out = onnx_model.run({"input": x})[0]
    diff = float(np.abs(out - ref).max())
    scale = float(np.abs(ref).max())
    print(f"mobilenetv2: {params} params, ONNX vs torch max |diff| {diff:.2e} (max |logit| {scale:.3f})",
          flush=True)
    if diff > 1e-3 * max(1.0, scale):
        raise SystemExit(f"exported ONNX disagrees with torch: {diff}")

    with open(path, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    io = {
        "inputs": [{"name": "input", "dtype": "float32", "shape": ["batch", 3, 224, 224]}],
        "outputs": [{"name": "logits", "dtype": "float32", "shape": ["batch", 1000]}],
    }
    fc.write_json(os.path.join(out_dir, "metrics.json"), {
        "model": "mobilenetv2",
        "version": VERSION,
        "trained": False,
        "weights": "UNTRAINED: torchvision default initialisation with torch.manual_seed(0); for speed benchmarks only",
        "batchNormStatistics": f"estimated from {BN_CALIBRATION_BATCHES * BN_CALIBRATION_BATCH_SIZE} "
                               "seeded Gaussian-noise images (torch.Generator seed 1); no weights trained",
        "accuracy": None,
        "params": params,
        "opset": OPSET,
        "onnxOps": onnx_model.ops,
        "sizeBytes": os.path.getsize(path),
        "sha256": digest,
        "maxAbsLogitDiffOnnxVsTorch": diff,
        "exportSeconds": round(export_seconds, 1),
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        **io,
        "preprocessing": {"note": "untrained: any float32 input of the right shape; ImageNet-style "
                                  "normalisation would be mean [0.485,0.456,0.406], std [0.229,0.224,0.225]"},
    })
    fc.write_json(os.path.join(out_dir, "reference.json"), {
        "model": "mobilenetv2",
        "version": VERSION,
        "input": "numpy.random.default_rng(0).standard_normal((2,3,224,224)).astype(float32); "
                 "the first 16 values of image 0 are listed for checking a reimplementation",
        "inputFirstValues": [float(v) for v in x.reshape(-1)[:16]],
        "logitsFirst10": [[float(v) for v in row[:10]] for row in ref],
        "top1": [int(v) for v in ref.argmax(1)],
        "maxAbsLogit": scale,
    })
    print(f"mobilenetv2: wrote {path} ({os.path.getsize(path)} bytes) in {time.time() - started:.1f} s",
          flush=True)


if __name__ == "__main__":
    main()
