"""Trains the Fashion-MNIST classifier and exports it to ONNX (fp32, opset 13).

    /usr/bin/python3 models/build/train_fashion_mnist.py --version 1.0.0 --seed 0 --epochs 4

Writes to models/fashion-mnist/<version>/:
  model.onnx          input "input" float32 [batch,1,28,28] -> output "logits" float32 [batch,10]
  preprocessing.json  labels, input/output names and shapes, normalisation (read by the manifest script)
  metrics.json        test accuracy measured with torch and with the exported ONNX file, run facts
  reference.json      fp32 logits for the first 8 test images (browser conformance reference)
"""
import argparse
import hashlib
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fashion_common as fc  # noqa: E402
from onnx_numpy import OnnxNumpyModel  # noqa: E402

OPSET = 13
REFERENCE_COUNT = 8


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("--version", required=True)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--epochs", type=int, default=4)
    p.add_argument("--batch-size", type=int, default=128)
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--hflip", action="store_true", help="augment with random horizontal flips")
    p.add_argument("--threads", type=int, default=2)
    return p.parse_args()


def seed_everything(seed, threads):
    torch.manual_seed(seed)
    np.random.seed(seed)
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True)


def train(model, x_train, y_train, args):
    opt = torch.optim.Adam(model.parameters(), lr=args.lr)
    steps_per_epoch = (len(x_train) + args.batch_size - 1) // args.batch_size
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=args.lr * 3, epochs=args.epochs,
                                                steps_per_epoch=steps_per_epoch)
    rng = np.random.default_rng(args.seed)
    history = []
    for epoch in range(args.epochs):
        model.train()
        order = rng.permutation(len(x_train))
        total_loss, t0 = 0.0, time.time()
        for i in range(0, len(order), args.batch_size):
            idx = order[i:i + args.batch_size]
            xb = x_train[idx]
            if args.hflip:
                flip = rng.random(len(idx)) < 0.5
                xb = xb.copy()
                xb[flip] = xb[flip][..., ::-1]
            xb, yb = torch.from_numpy(np.ascontiguousarray(xb)), torch.from_numpy(y_train[idx])
            loss = F.cross_entropy(model(xb), yb)
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            total_loss += loss.item() * len(idx)
        history.append({"epoch": epoch + 1, "trainLoss": round(total_loss / len(x_train), 5),
                        "seconds": round(time.time() - t0, 1)})
        print(f"epoch {epoch + 1}/{args.epochs}: loss {history[-1]['trainLoss']} ({history[-1]['seconds']} s)",
              flush=True)
    return history


@torch.no_grad()
def torch_logits(model, x, batch_size=1000):
    model.eval()
    return np.concatenate([model(torch.from_numpy(x[i:i + batch_size])).numpy()
                           for i in range(0, len(x), batch_size)])


def export_onnx(model, path):
    model.eval()
    os.makedirs(os.path.dirname(path), exist_ok=True)
    torch.onnx.export(model, torch.zeros(1, 1, 28, 28), path, opset_version=OPSET,
                      input_names=[fc.INPUT_NAME], output_names=[fc.OUTPUT_NAME],
                      dynamic_axes={fc.INPUT_NAME: {0: "batch"}, fc.OUTPUT_NAME: {0: "batch"}},
                      do_constant_folding=True)


def sha256(path):
    with open(path, "rb") as f:
        return hashlib.sha256(f.read()).hexdigest()


def main():
    args = parse_args()
    seed_everything(args.seed, args.threads)
    out_dir = fc.version_dir(args.version)
    started = time.time()

    train_images, train_labels = fc.load_split("train")
    test_images, test_labels = fc.load_split("test")
    x_train, y_train = fc.preprocess(train_images), train_labels.astype(np.int64)
    x_test = fc.preprocess(test_images)

    model = fc.build_net()
    params = sum(p.numel() for p in model.parameters())
    print(f"[{args.version}] {params} parameters, seed {args.seed}, {args.epochs} epochs", flush=True)
    t0 = time.time()
    history = train(model, x_train, y_train, args)
    train_seconds = time.time() - t0

    logits_torch = torch_logits(model, x_test)
    acc_torch = float((logits_torch.argmax(1) == test_labels).mean())
    print(f"[{args.version}] torch test accuracy {acc_torch:.4f}", flush=True)

    onnx_path = os.path.join(out_dir, "model.onnx")
    export_onnx(model, onnx_path)
    onnx_model = OnnxNumpyModel(onnx_path)
    logits_onnx = onnx_model.run_batched(x_test)
    acc_onnx = float((logits_onnx.argmax(1) == test_labels).mean())
    max_diff = float(np.abs(logits_onnx - logits_torch).max())
    print(f"[{args.version}] ONNX (numpy interpreter) test accuracy {acc_onnx:.4f}, "
          f"max |logit diff| vs torch {max_diff:.2e}", flush=True)
    if max_diff > 1e-3:
        raise SystemExit(f"exported ONNX disagrees with torch: max abs diff {max_diff}")

    per_class = {fc.LABELS[c]: round(float((logits_onnx.argmax(1)[test_labels == c] == c).mean()), 4)
                 for c in range(10)}
    io = {
        "inputs": [{"name": fc.INPUT_NAME, "dtype": "float32", "shape": ["batch", 1, 28, 28]}],
        "outputs": [{"name": fc.OUTPUT_NAME, "dtype": "float32", "shape": ["batch", 10],
                     "meaning": "logits (apply softmax for probabilities)"}],
    }
    fc.write_json(os.path.join(out_dir, "preprocessing.json"), {
        "task": "image-classification",
        "labels": fc.LABELS,
        **io,
        "preprocessing": fc.PREPROCESSING,
    })
    fc.write_json(os.path.join(out_dir, "metrics.json"), {
        "model": "fashion-mnist",
        "version": args.version,
        "testSet": "Fashion-MNIST t10k (10000 images)",
        "accuracy": round(acc_onnx, 4),
        "accuracyTorch": round(acc_torch, 4),
        "accuracyOnnx": round(acc_onnx, 4),
        "accuracyOnnxMeasuredWith": "models/build/onnx_numpy.py (numpy interpreter reading model.onnx)",
        "maxAbsLogitDiffOnnxVsTorch": max_diff,
        "perClassAccuracy": per_class,
        "epochs": args.epochs,
        "seed": args.seed,
        "batchSize": args.batch_size,
        "optimizer": f"Adam, OneCycle max lr {args.lr * 3}",
        "augmentation": "random horizontal flip" if args.hflip else "none",
        "history": history,
        "trainSeconds": round(train_seconds, 1),
        "threads": args.threads,
        "params": params,
        "opset": OPSET,
        "onnxOps": onnx_model.ops,
        "sizeBytes": os.path.getsize(onnx_path),
        "sha256": sha256(onnx_path),
        "torch": torch.__version__,
        **io,
    })
    fc.write_json(os.path.join(out_dir, "reference.json"), {
        "model": "fashion-mnist",
        "version": args.version,
        "file": "model.onnx",
        "description": "fp32 logits computed by torch for Fashion-MNIST test images 0..7; "
                       "pixels are in models/fashion-mnist/eval/test-1000.bin (uint8, 784 bytes per image)",
        "testIndices": list(range(REFERENCE_COUNT)),
        "labels": [int(v) for v in test_labels[:REFERENCE_COUNT]],
        "preprocessing": fc.PREPROCESSING,
        "inputName": fc.INPUT_NAME,
        "outputName": fc.OUTPUT_NAME,
        "inputShape": [REFERENCE_COUNT, 1, 28, 28],
        "logits": [[float(v) for v in row] for row in logits_torch[:REFERENCE_COUNT]],
        "top1": [int(v) for v in logits_torch[:REFERENCE_COUNT].argmax(1)],
        "maxAbsDiffOnnxNumpyVsTorch": float(np.abs(logits_onnx[:REFERENCE_COUNT] - logits_torch[:REFERENCE_COUNT]).max()),
    })
    print(f"[{args.version}] wrote {out_dir} in {time.time() - started:.1f} s", flush=True)


if __name__ == "__main__":
    main()
