"""Converts the exported Fashion-MNIST ONNX model into TF.js layers models (fp32 and uint8).

    /usr/bin/python3 models/build/convert_tfjs.py --version 1.0.0

No tensorflowjs package is needed: the model.json (Keras Sequential topology, channels_last) and
weights.bin are written here, from the initializers of models/fashion-mnist/<version>/model.onnx.

  tfjs/model.json + weights.bin        float32 weights
  tfjs-uint8/model.json + weights.bin  every weight affine uint8-quantized per tensor
                                       (manifest 'quantization': value = min + scale * q)

Layout changes from torch (NCHW) to TF.js (NHWC):
  Conv2D kernel  torch [out,in,kh,kw] -> [kh,kw,in,out]
  Dense kernel   torch [out,in]       -> [in,out]; the first Dense also has its input rows
                 permuted, since Flatten of NHWC [7,7,C] orders elements (h,w,c), torch's (c,h,w).

The check at the end decodes the written files, runs them with a numpy NHWC forward pass that
follows the model.json topology, and compares with torch (the ONNX initializers loaded into the
torch network) on test images: max abs logit diff must be < 1e-4 for fp32.
"""
import argparse
import json
import os
import sys
import time

import numpy as np
import onnx
from onnx import numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fashion_common as fc  # noqa: E402

CHECK_COUNT = 100
TOLERANCE = 1e-4


def onnx_weights(path):
    return {t.name: numpy_helper.to_array(t).astype(np.float32) for t in onnx.load(path).graph.initializer}


def conv_layer(name, filters, batch_input_shape=None):
    config = {
        "name": name, "trainable": True, "dtype": "float32",
        "filters": filters, "kernel_size": [3, 3], "strides": [1, 1], "padding": "same",
        "data_format": "channels_last", "dilation_rate": [1, 1], "groups": 1,
        "activation": "relu", "use_bias": True,
        "kernel_initializer": {"class_name": "GlorotUniform", "config": {"seed": None}},
        "bias_initializer": {"class_name": "Zeros", "config": {}},
        "kernel_regularizer": None, "bias_regularizer": None, "activity_regularizer": None,
        "kernel_constraint": None, "bias_constraint": None,
    }
    if batch_input_shape is not None:
        config = {"batch_input_shape": batch_input_shape, **config}
    return {"class_name": "Conv2D", "config": config}


def pool_layer(name):
    return {"class_name": "MaxPooling2D", "config": {
        "name": name, "trainable": True, "dtype": "float32", "pool_size": [2, 2], "strides": [2, 2],
        "padding": "valid", "data_format": "channels_last"}}


def dense_layer(name, units, activation):
    return {"class_name": "Dense", "config": {
        "name": name, "trainable": True, "dtype": "float32", "units": units, "activation": activation,
        "use_bias": True,
        "kernel_initializer": {"class_name": "GlorotUniform", "config": {"seed": None}},
        "bias_initializer": {"class_name": "Zeros", "config": {}},
        "kernel_regularizer": None, "bias_regularizer": None, "activity_regularizer": None,
        "kernel_constraint": None, "bias_constraint": None}}


def to_tfjs(w):
    """ONNX/torch weights -> (layers, [(weight name, float32 array)]) in TF.js layout."""
    c2 = w["conv2.weight"].shape[0]
    hidden = w["fc1.weight"].shape[0]
    layers = [
        conv_layer("conv2d", w["conv1.weight"].shape[0], batch_input_shape=[None, 28, 28, 1]),
        pool_layer("max_pooling2d"),
        conv_layer("conv2d_1", c2),
        pool_layer("max_pooling2d_1"),
        {"class_name": "Flatten", "config": {"name": "flatten", "trainable": True, "dtype": "float32",
                                             "data_format": "channels_last"}},
        dense_layer("dense", hidden, "relu"),
        dense_layer("dense_1", 10, "linear"),
    ]
    fc1 = w["fc1.weight"].reshape(hidden, c2, 7, 7).transpose(0, 2, 3, 1).reshape(hidden, -1)
    weights = [
        ("conv2d/kernel", w["conv1.weight"].transpose(2, 3, 1, 0)),
        ("conv2d/bias", w["conv1.bias"]),
        ("conv2d_1/kernel", w["conv2.weight"].transpose(2, 3, 1, 0)),
        ("conv2d_1/bias", w["conv2.bias"]),
        ("dense/kernel", fc1.T),
        ("dense/bias", w["fc1.bias"]),
        ("dense_1/kernel", w["fc2.weight"].T),
        ("dense_1/bias", w["fc2.bias"]),
    ]
    return layers, [(n, np.ascontiguousarray(a, dtype=np.float32)) for n, a in weights]


def quantize_uint8(a):
    """Affine per-tensor uint8: a ~= min + scale * q."""
    lo, hi = float(a.min()), float(a.max())
    scale = (hi - lo) / 255.0 if hi > lo else 1.0
    q = np.clip(np.round((a - lo) / scale), 0, 255).astype(np.uint8)
    return q, {"dtype": "uint8", "min": lo, "scale": scale, "original_dtype": "float32"}


def write_tfjs(out_dir, layers, weights, version, quantize):
    os.makedirs(out_dir, exist_ok=True)
    entries, blobs = [], []
    for name, a in weights:
        entry = {"name": name, "shape": list(a.shape), "dtype": "float32"}
        if quantize:
            q, entry["quantization"] = quantize_uint8(a)
            blobs.append(q.tobytes())
        else:
            blobs.append(a.astype("<f4").tobytes())
        entries.append(entry)
    with open(os.path.join(out_dir, "weights.bin"), "wb") as f:
        f.write(b"".join(blobs))
    model = {
        "format": "layers-model",
        "generatedBy": f"edgeinfer models/build/convert_tfjs.py from fashion-mnist {version} model.onnx",
        "convertedBy": "edgeinfer convert_tfjs.py (hand-written TF.js layers format, no tensorflowjs package)",
        "modelTopology": {
            "class_name": "Sequential",
            "config": {"name": "fashion_mnist", "layers": layers},
            "keras_version": "tfjs-layers 4.22.0",
            "backend": "tensor_flow.js",
        },
        "weightsManifest": [{"paths": ["weights.bin"], "weights": entries}],
        "userDefinedMetadata": {
            "labels": fc.LABELS,
            "preprocessing": {**fc.PREPROCESSING, "layout": "NHWC", "inputShape": [28, 28, 1]},
            "output": "logits",
            "weightsQuantization": "uint8 affine per tensor" if quantize else "none (float32)",
        },
    }
    with open(os.path.join(out_dir, "model.json"), "w") as f:
        json.dump(model, f, indent=1)
        f.write("\n")


# ---- numpy NHWC forward pass read from model.json + weights.bin -------------------------------

def read_tfjs(out_dir):
    with open(os.path.join(out_dir, "model.json")) as f:
        model = json.load(f)
    weights = {}
    for group in model["weightsManifest"]:
        data = b"".join(open(os.path.join(out_dir, p), "rb").read() for p in group["paths"])
        offset = 0
        for e in group["weights"]:
            count = int(np.prod(e["shape"])) if e["shape"] else 1
            q = e.get("quantization")
            if q:
                assert q["dtype"] == "uint8"
                raw = np.frombuffer(data, np.uint8, count, offset)
                offset += count
                values = (np.float32(q["min"]) + np.float32(q["scale"]) * raw.astype(np.float32))
            else:
                values = np.frombuffer(data, "<f4", count, offset)
                offset += 4 * count
            weights[e["name"]] = values.astype(np.float32).reshape(e["shape"])
        assert offset == len(data), f"{out_dir}: weights.bin has {len(data) - offset} bytes left over"
    return model, weights


def _act(x, name):
    return np.maximum(x, 0) if name == "relu" else x


def forward_nhwc(model, weights, x):
    """x: float32 NHWC [N,28,28,1]."""
    for layer in model["modelTopology"]["config"]["layers"]:
        cls, cfg = layer["class_name"], layer["config"]
        if cls == "Conv2D":
            k, b = weights[cfg["name"] + "/kernel"], weights[cfg["name"] + "/bias"]
            kh, kw, _, cout = k.shape
            assert cfg["padding"] == "same" and cfg["strides"] == [1, 1]
            n, h, w, _ = x.shape
            xp = np.pad(x, ((0, 0), (kh // 2, kh // 2), (kw // 2, kw // 2), (0, 0)))
            out = np.zeros((n, h, w, cout), np.float32)
            for i in range(kh):
                for j in range(kw):
                    out += xp[:, i:i + h, j:j + w, :] @ k[i, j]
            x = _act(out + b, cfg["activation"])
        elif cls == "MaxPooling2D":
            n, h, w, c = x.shape
            x = x[:, :h // 2 * 2, :w // 2 * 2].reshape(n, h // 2, 2, w // 2, 2, c).max(axis=(2, 4))
        elif cls == "Flatten":
            x = x.reshape(x.shape[0], -1)
        elif cls == "Dense":
            x = _act(x @ weights[cfg["name"] + "/kernel"] + weights[cfg["name"] + "/bias"], cfg["activation"])
        else:
            raise NotImplementedError(cls)
    return x


def torch_reference(w, x_nchw):
    import torch
    torch.set_num_threads(2)
    net = fc.build_net(w["conv1.weight"].shape[0], w["conv2.weight"].shape[0], w["fc1.weight"].shape[0])
    net.load_state_dict({k: torch.from_numpy(v) for k, v in w.items()})
    net.eval()
    with torch.no_grad():
        return net(torch.from_numpy(x_nchw)).numpy()


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--version", required=True)
    args = p.parse_args()
    started = time.time()
    vdir = fc.version_dir(args.version)
    w = onnx_weights(os.path.join(vdir, "model.onnx"))
    layers, weights = to_tfjs(w)

    test_images, test_labels = fc.load_split("test")
    x_nchw = fc.preprocess(test_images)
    x_nhwc = np.ascontiguousarray(x_nchw.transpose(0, 2, 3, 1))
    ref = torch_reference(w, x_nchw)
    ref_acc = float((ref.argmax(1) == test_labels).mean())

    results = {}
    for variant, quantize in (("tfjs", False), ("tfjs-uint8", True)):
        out_dir = os.path.join(vdir, variant)
        write_tfjs(out_dir, layers, weights, args.version, quantize)
        model, read_back = read_tfjs(out_dir)
        logits = np.concatenate([forward_nhwc(model, read_back, x_nhwc[i:i + 1000])
                                 for i in range(0, len(x_nhwc), 1000)])
        diff = np.abs(logits[:CHECK_COUNT] - ref[:CHECK_COUNT])
        acc = float((logits.argmax(1) == test_labels).mean())
        agree = float((logits.argmax(1) == ref.argmax(1)).mean())
        size = sum(os.path.getsize(os.path.join(out_dir, f)) for f in ("model.json", "weights.bin"))
        results[variant] = {
            "accuracy": round(acc, 4),
            "top1AgreementWithFp32": round(agree, 4),
            "maxAbsLogitDiffVsTorchFirst100": float(diff.max()),
            "meanAbsLogitDiffVsTorchFirst100": float(diff.mean()),
            "weightsBytes": os.path.getsize(os.path.join(out_dir, "weights.bin")),
            "totalBytes": size,
            "measuredWith": "numpy NHWC forward pass over model.json + weights.bin (convert_tfjs.py)",
        }
        print(f"[{args.version}] {variant}: accuracy {acc:.4f} (torch {ref_acc:.4f}), top-1 agreement "
              f"{agree:.4f}, max |diff| on {CHECK_COUNT} images {diff.max():.2e}, weights.bin "
              f"{results[variant]['weightsBytes']} bytes", flush=True)
        if not quantize and diff.max() >= TOLERANCE:
            raise SystemExit(f"TF.js conversion check failed: max abs diff {diff.max()} >= {TOLERANCE}")
    metrics_path = os.path.join(vdir, "metrics.json")
    with open(metrics_path) as f:
        metrics = json.load(f)
    metrics["variants"] = results
    fc.write_json(metrics_path, metrics)
    print(f"[{args.version}] TF.js conversion done in {time.time() - started:.1f} s", flush=True)


if __name__ == "__main__":
    main()
