"""Shared pieces of the Fashion-MNIST build: data loading, labels, preprocessing, the network.

Every script in models/build imports from here so the preprocessing and the label order are
written down once.
"""
import gzip
import json
import os

import numpy as np

BUILD_DIR = os.path.dirname(os.path.abspath(__file__))
MODELS_DIR = os.path.dirname(BUILD_DIR)
FASHION_DIR = os.path.join(MODELS_DIR, "fashion-mnist")
DATASET_DIR = os.environ.get("FASHION_MNIST_DIR", "/usr/share/datasets/fashion-mnist")

LABELS = ["T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
          "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"]

# Mean and std of the Fashion-MNIST training pixels after /255 (measured: 0.28604, 0.35302).
# Rounded to four digits; these exact numbers are the contract with the browser.
PREPROCESSING = {
    "layout": "NCHW",
    "inputShape": [1, 28, 28],
    "colorSpace": "grayscale",
    "scale": 1.0 / 255.0,
    "mean": [0.2860],
    "std": [0.3530],
    "formula": "x = (pixel / 255 - mean) / std",
    "background": "black (0); garment bright, as in the dataset",
}

INPUT_NAME = "input"
OUTPUT_NAME = "logits"


def read_idx(path):
    """Reads an IDX file (optionally gzipped) into a numpy array."""
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rb") as f:
        data = f.read()
    if data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise ValueError(f"{path}: not an unsigned-byte IDX file")
    ndim = data[3]
    dims = [int.from_bytes(data[4 + 4 * i:8 + 4 * i], "big") for i in range(ndim)]
    offset = 4 + 4 * ndim
    return np.frombuffer(data, dtype=np.uint8, offset=offset).reshape(dims)


def load_split(split):
    """split = 'train' or 'test'. Returns (images uint8 [N,28,28], labels uint8 [N])."""
    prefix = "train" if split == "train" else "t10k"
    images = read_idx(os.path.join(DATASET_DIR, f"{prefix}-images-idx3-ubyte.gz"))
    labels = read_idx(os.path.join(DATASET_DIR, f"{prefix}-labels-idx1-ubyte.gz"))
    return images, labels


def preprocess(images_uint8):
    """uint8 [N,28,28] -> float32 [N,1,28,28], exactly the preprocessing the browser must use."""
    x = images_uint8.astype(np.float32) * np.float32(PREPROCESSING["scale"])
    x = (x - np.float32(PREPROCESSING["mean"][0])) / np.float32(PREPROCESSING["std"][0])
    return x[:, None, :, :].astype(np.float32)


def slug(label):
    """'T-shirt/top' -> 't-shirt-top', 'Ankle boot' -> 'ankle-boot'."""
    return label.lower().replace("/", "-").replace(" ", "-")


def version_dir(version):
    return os.path.join(FASHION_DIR, version)


def write_json(path, obj):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        json.dump(obj, f, indent=2)
        f.write("\n")


def build_net(channels1=16, channels2=32, hidden=64):
    """The classifier. Imported lazily so numpy-only scripts don't need torch."""
    import torch.nn as nn
    import torch.nn.functional as F

    class FashionNet(nn.Module):
        def __init__(self):
            super().__init__()
            self.conv1 = nn.Conv2d(1, channels1, 3, padding=1)
            self.conv2 = nn.Conv2d(channels1, channels2, 3, padding=1)
            self.fc1 = nn.Linear(channels2 * 7 * 7, hidden)
            self.fc2 = nn.Linear(hidden, 10)

        def forward(self, x):
            x = F.max_pool2d(F.relu(self.conv1(x)), 2)
            x = F.max_pool2d(F.relu(self.conv2(x)), 2)
            x = x.flatten(1)
            x = F.relu(self.fc1(x))
            return self.fc2(x)

    return FashionNet()
