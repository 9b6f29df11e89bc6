"""Writes the TorchScript module `lepton plugins check` trains with the torchscript plugin:
12 features in, 3 classes out, a Linear head."""
import sys

import torch


class Small(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.body = torch.nn.Sequential(torch.nn.Linear(12, 16), torch.nn.ReLU())
        self.head = torch.nn.Linear(16, 3)

    def forward(self, x):
        return self.head(self.body(x.flatten(1)))


torch.manual_seed(0)
torch.jit.script(Small()).save(sys.argv[1])
