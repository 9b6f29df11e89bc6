"""Writes the TorchScript files the torchscript tests train, as a user's Python would: small
networks for the 8x8 digits (1 channel) and the broken files each refusal is tested with.

    python3 write_modules.py OUTDIR
"""
import os
import sys

import torch
from torch import nn


class DigitsCnn(nn.Module):
    """conv1, bn1, conv2 (the backbone layers, in order), pool, then the head fc."""

    def __init__(self, classes: int, channels: int = 8, in_channels: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, channels, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(channels)
        self.conv2 = nn.Conv2d(channels, 2 * channels, 3, padding=1)
        self.pool = nn.AdaptiveAvgPool2d(2)
        self.fc = nn.Linear(2 * channels * 4, classes)

    def forward(self, x):
        x = torch.relu(self.bn1(self.conv1(x)))
        x = torch.relu(self.conv2(x))
        x = torch.flatten(self.pool(x), 1)
        return self.fc(x)


class Classifier(nn.Module):
    """A head inside a Sequential after a dropout, found as the last Linear (classifier.2)."""

    def __init__(self, classes: int):
        super().__init__()
        self.features = nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.ReLU())
        self.classifier = nn.Sequential(nn.Dropout(0.1), nn.Linear(32, 16), nn.Linear(16, classes))

    def forward(self, x):
        return self.classifier(self.features(x))


class Softmaxed(nn.Module):
    """Returns probabilities rather than the head's logits: refused, Lepton trains on logits."""

    def __init__(self, classes: int):
        super().__init__()
        self.body = nn.Sequential(nn.Flatten(), nn.Linear(64, 32), nn.ReLU())
        self.fc = nn.Linear(32, classes)

    def forward(self, x):
        return torch.softmax(self.fc(self.body(x)), 1)


def main(out: str) -> None:
    os.makedirs(out, exist_ok=True)
    torch.manual_seed(0)
    torch.jit.script(DigitsCnn(10)).save(os.path.join(out, "cnn10.pt"))
    torch.jit.script(DigitsCnn(10, channels=16)).save(os.path.join(out, "wide10.pt"))
    torch.jit.script(DigitsCnn(5)).save(os.path.join(out, "cnn5.pt"))
    torch.jit.trace(DigitsCnn(10).eval(), torch.randn(2, 1, 8, 8)).save(os.path.join(out, "traced10.pt"))
    torch.jit.script(Classifier(10)).save(os.path.join(out, "classifier10.pt"))
    # Refused before any trial, each for its own reason.
    torch.jit.script(DigitsCnn(3)).save(os.path.join(out, "cnn3.pt"))
    torch.jit.script(DigitsCnn(10, in_channels=3)).save(os.path.join(out, "rgb10.pt"))
    frozen = DigitsCnn(10)
    for p in frozen.parameters():
        p.requires_grad_(False)
    torch.jit.script(frozen).save(os.path.join(out, "frozen10.pt"))
    torch.jit.script(Softmaxed(10)).save(os.path.join(out, "softmax10.pt"))
    torch.save(DigitsCnn(10).state_dict(), os.path.join(out, "state_dict.pt"))


if __name__ == "__main__":
    main(sys.argv[1])
