"""Writes the two PyTorch models the experiments in this folder train, as TorchScript files:
a torchvision ResNet-18 adapted to 28x28 grayscale images, and a small CNN of our own. Both
end in a Linear head with one output per class of the source task (5 Fashion-MNIST classes).

    /usr/bin/python3 examples/pytorch-model/make_models.py      # writes resnet18.pt, small_cnn.pt here
"""
import os

import torch
import torchvision
from torch import nn

CLASSES = 5  # T-shirt/top, Trouser, Pullover, Dress, Coat: the source task


def resnet18() -> nn.Module:
    """ResNet-18 for 1x28x28: a 3x3 stride-2 first convolution on one channel instead of the 7x7 on
    three; with the max-pool after it, layer1 sees 7x7, which keeps training on a CPU quick."""
    model = torchvision.models.resnet18(num_classes=CLASSES)
    model.conv1 = nn.Conv2d(1, 64, kernel_size=3, stride=2, padding=1, bias=False)
    return model


class SmallCnn(nn.Module):
    """Two conv blocks, then the head `fc`."""

    def __init__(self, classes: int = CLASSES):
        super().__init__()
        self.block1 = nn.Sequential(nn.Conv2d(1, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(), nn.MaxPool2d(2))
        self.block2 = nn.Sequential(nn.Conv2d(16, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2))
        self.fc = nn.Linear(32 * 7 * 7, classes)

    def forward(self, x):
        return self.fc(torch.flatten(self.block2(self.block1(x)), 1))


if __name__ == "__main__":
    here = os.path.dirname(os.path.abspath(__file__))
    torch.manual_seed(0)
    for name, model in [("resnet18.pt", resnet18()), ("small_cnn.pt", SmallCnn())]:
        torch.jit.script(model).save(os.path.join(here, name))
        print(f"wrote {os.path.join(here, name)}: {sum(p.numel() for p in model.parameters()):,} parameters")
