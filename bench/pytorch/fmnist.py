"""Fashion-MNIST from its IDX gzip files (Debian's dataset-fashion-mnist), normalised like Cluster's trainer
(mean 0.2860, std 0.3530: the constants in src/Cluster.Training/Engine/JobData.cs)."""
import gzip
import os
import sys

import numpy as np
import torch

MEAN, STD = 0.2860, 0.3530
FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}


def _read(path, magic, dims):
    if not os.path.isfile(path):
        sys.exit(f"fmnist: {path} is missing (install the Debian package dataset-fashion-mnist or pass --data DIR)")
    with gzip.open(path, "rb") as f:
        raw = f.read()
    header = 4 + 4 * dims
    if len(raw) < header or int.from_bytes(raw[0:4], "big") != magic:
        sys.exit(f"fmnist: {path} is not an IDX file with magic {magic:#x}")
    shape = [int.from_bytes(raw[4 + 4 * i:8 + 4 * i], "big") for i in range(dims)]
    if len(raw) - header != int(np.prod(shape)):
        sys.exit(f"fmnist: {path} holds {len(raw) - header} bytes of data, its header says {shape}")
    return np.frombuffer(raw, dtype=np.uint8, offset=header).reshape(shape)


def load(directory, split):
    images_file, labels_file = FILES[split]
    images = _read(os.path.join(directory, images_file), 0x803, 3)
    labels = _read(os.path.join(directory, labels_file), 0x801, 1)
    if len(images) != len(labels):
        sys.exit(f"fmnist: {split} has {len(images)} images but {len(labels)} labels")
    x = torch.from_numpy(images.astype(np.float32) / 255.0).unsqueeze(1)
    x = (x - MEAN) / STD
    return x, torch.from_numpy(labels.astype(np.int64))


def data_dir(arg):
    return arg or os.environ.get("FASHION_MNIST_DIR") or "/usr/share/datasets/fashion-mnist"
