"""The LeNet-style CNN of the comparison: Cluster's `cnn` model with kernelSize 3 (examples/bench/fashion-mnist-cnn-adam.yaml)."""
import torch.nn as nn


def cnn(dropout=0.0):
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(3136, 128), nn.ReLU(), nn.Dropout(dropout), nn.Linear(128, 10))
