#!/usr/bin/python3
"""PyTorch side of bench_torchscript. The small CNN is the first-party `cnn` plugin's network with
blocks 2, channels 8, growth 2, kernel 3, max pooling, batch norm and no hidden layer, written in
PyTorch: conv 1->8, batch norm, ReLU, 2x2 max-pool, conv 8->16, batch norm, ReLU, 2x2 max-pool,
then a Linear head on the 16x7x7 features.

    pytorch_peer.py write DIR
        writes DIR/cnn10.pt and DIR/cnn5.pt (torch.jit.script, 10 and 5 classes)
    pytorch_peer.py time X.bin Y.bin ROWS BATCH EPOCHS REPEATS
        trains the CNN eagerly on the rows (float32 {ROWS, 1, 28, 28}, int64 labels), Adam, 1 thread,
        the way a PyTorch user writes the loop; prints {"ms_per_step": [...], "torch": version}
"""
import json
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn


class SmallCnn(nn.Module):
    def __init__(self, classes: int):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 8, 3, padding=1)
        self.bn1 = nn.BatchNorm2d(8)
        self.conv2 = nn.Conv2d(8, 16, 3, padding=1)
        self.bn2 = nn.BatchNorm2d(16)
        self.head = nn.Linear(16 * 7 * 7, classes)

    def forward(self, x):
        x = F.max_pool2d(torch.relu(self.bn1(self.conv1(x))), 2)
        x = F.max_pool2d(torch.relu(self.bn2(self.conv2(x))), 2)
        return self.head(torch.flatten(x, 1))


def write(folder: str) -> None:
    torch.manual_seed(0)
    for classes in (10, 5):
        torch.jit.script(SmallCnn(classes)).save(os.path.join(folder, f"cnn{classes}.pt"))


def time_steps(x_file: str, y_file: str, rows: int, batch: int, epochs: int, repeats: int) -> None:
    torch.set_num_threads(1)
    x = torch.from_numpy(np.fromfile(x_file, dtype=np.float32).reshape(rows, 1, 28, 28))
    y = torch.from_numpy(np.fromfile(y_file, dtype=np.int64))
    torch.manual_seed(0)
    results = []
    for _ in range(repeats):
        model = SmallCnn(int(y.max()) + 1)
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
        model.train()

        def epoch():
            steps = 0
            order = torch.randperm(rows)
            for begin in range(0, rows, batch):
                index = order[begin:begin + batch]
                optimizer.zero_grad()
                loss = F.cross_entropy(model(x[index]), y[index])
                loss.item()
                loss.backward()
                optimizer.step()
                steps += 1
            return steps

        epoch()  # warm-up
        start = time.perf_counter()
        steps = sum(epoch() for _ in range(epochs))
        results.append((time.perf_counter() - start) * 1000 / steps)
    print(json.dumps({"ms_per_step": results, "torch": torch.__version__}))


if __name__ == "__main__":
    if sys.argv[1] == "write":
        write(sys.argv[2])
    else:
        time_steps(sys.argv[2], sys.argv[3], *(int(a) for a in sys.argv[4:8]))
