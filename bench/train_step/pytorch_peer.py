#!/usr/bin/python3
"""PyTorch peer of bench_train_step: the same MLP, data, batch size and optimizer, written the
way a PyTorch user writes a training loop (a fresh permutation per epoch, indexing per batch,
zero_grad, forward, cross-entropy, loss.item(), backward, Adam step), on 1 thread.

Usage: pytorch_peer.py TRAIN.csv HIDDEN BATCH EPOCHS REPEATS
Prints one JSON line: {"ms_per_step": [...], "torch": version}.
"""
import json
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F


def main():
    path, hidden, batch, epochs, repeats = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
    torch.set_num_threads(1)
    data = np.loadtxt(path, delimiter=",", dtype=np.float32)
    x = torch.from_numpy(data[:, :-1].copy())
    y = torch.from_numpy(data[:, -1].astype(np.int64))
    n, features = x.shape
    classes = int(y.max()) + 1
    torch.manual_seed(0)
    results = []
    for _ in range(repeats):
        model = torch.nn.Sequential(torch.nn.Linear(features, hidden), torch.nn.ReLU(), torch.nn.Linear(hidden, classes))
        optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)

        def epoch():
            steps = 0
            order = torch.randperm(n)
            for begin in range(0, n, batch):
                index = order[begin:begin + batch]
                xb, yb = x[index], y[index]
                optimizer.zero_grad()
                loss = F.cross_entropy(model(xb), yb)
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
    main()
