#!/usr/bin/python3
"""The peer for bench/trial_throughput: Optuna 3.1 (Debian python3-optuna) and PyTorch (python3-torch).

  optuna_peer.py overhead N DB      random sampler, SQLite storage, no-op objective, N trials
  optuna_peer.py throughput PARAMS JOBS  the quickstart trials Lepton ran (their parameters, from the
                                        JSON file PARAMS) trained in PyTorch, n_jobs=JOBS

Prints one JSON object on stdout.
"""
import json
import os
import sys
import time

import numpy as np
import optuna
import torch

optuna.logging.set_verbosity(optuna.logging.WARNING)
HERE = os.path.dirname(os.path.abspath(__file__))
DATA = os.path.join(HERE, "..", "..", "data", "breast_cancer.csv")


def suggest(trial):
    """The quickstart experiment's space, conditions included."""
    p = {
        "lr": trial.suggest_float("lr", 1e-4, 1e-1, log=True),
        "batch_size": trial.suggest_categorical("batch_size", [16, 32, 64]),
        "weight_decay": trial.suggest_float("weight_decay", 1e-6, 1e-2, log=True),
        "optimizer": trial.suggest_categorical("optimizer", ["adam", "adamw", "sgd"]),
        "layers": trial.suggest_int("layers", 1, 3),
        "hidden": trial.suggest_int("hidden", 16, 256, log=True),
        "dropout": trial.suggest_float("dropout", 0.0, 0.5),
        "activation": trial.suggest_categorical("activation", ["relu", "gelu", "tanh"]),
    }
    if p["optimizer"] == "sgd":
        p["momentum"] = trial.suggest_float("momentum", 0.0, 0.99)
    return p


def overhead(n, db):
    if os.path.exists(db):
        os.remove(db)
    study = optuna.create_study(storage="sqlite:///" + db, sampler=optuna.samplers.RandomSampler(seed=42),
                                direction="maximize")
    stamps = []

    def objective(trial):
        suggest(trial)
        return 0.5

    start = time.perf_counter()
    study.optimize(objective, n_trials=n, callbacks=[lambda s, t: stamps.append(time.perf_counter())])
    total = time.perf_counter() - start
    tail = (stamps[-1] - stamps[-101]) / 100 if n > 100 else total / n
    print(json.dumps({"mean_ms": total / n * 1000, "tail_ms": tail * 1000, "trials": n}))


def load_data():
    lines = open(DATA).read().split("\n")
    rows = np.array([[float(v) for v in line.split(",")] for line in lines[1:] if line.strip()])
    x, y = rows[:, :-1].astype(np.float32), rows[:, -1].astype(np.int64)
    rng = np.random.default_rng(7)
    parts = {"train": [], "valid": [], "test": []}
    for c in np.unique(y):  # stratified 60/20/20, like the csv plugin
        idx = rng.permutation(np.where(y == c)[0])
        n_test, n_valid = round(len(idx) * 0.2), round(len(idx) * 0.2)
        parts["test"] += list(idx[:n_test])
        parts["valid"] += list(idx[n_test:n_test + n_valid])
        parts["train"] += list(idx[n_test + n_valid:])
    mean, std = x[parts["train"]].mean(0), x[parts["train"]].std(0) + 1e-12
    x = (x - mean) / std
    return {k: (torch.tensor(x[v]), torch.tensor(y[v])) for k, v in parts.items()}


def throughput(params_file, jobs):
    torch.set_num_threads(1)
    configurations = json.load(open(params_file))
    n = len(configurations)
    data = load_data()
    acts = {"relu": torch.nn.ReLU, "gelu": torch.nn.GELU, "tanh": torch.nn.Tanh}

    def objective(trial):
        p = suggest(trial)
        torch.manual_seed(trial.number)
        layers, width = [], 30
        for _ in range(p["layers"]):
            layers += [torch.nn.Linear(width, p["hidden"]), acts[p["activation"]](), torch.nn.Dropout(p["dropout"])]
            width = p["hidden"]
        net = torch.nn.Sequential(*layers, torch.nn.Linear(width, 2))
        if p["optimizer"] == "sgd":
            opt = torch.optim.SGD(net.parameters(), lr=p["lr"], momentum=p["momentum"], weight_decay=p["weight_decay"])
        elif p["optimizer"] == "adamw":
            opt = torch.optim.AdamW(net.parameters(), lr=p["lr"], weight_decay=p["weight_decay"])
        else:
            opt = torch.optim.Adam(net.parameters(), lr=p["lr"], weight_decay=p["weight_decay"])
        x, y = data["train"]
        for _ in range(30):
            net.train()
            order = torch.randperm(len(x))
            for b in range(0, len(x), p["batch_size"]):
                i = order[b:b + p["batch_size"]]
                opt.zero_grad()
                loss = torch.nn.functional.cross_entropy(net(x[i]), y[i])
                loss.backward()
                opt.step()
            net.eval()
            with torch.no_grad():
                vx, vy = data["valid"]
                acc = (net(vx).argmax(1) == vy).float().mean().item()
        return acc

    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=42), direction="maximize")
    for params in configurations:  # the very configurations Lepton trained, so the work is identical
        study.enqueue_trial(params)
    start = time.perf_counter()
    study.optimize(objective, n_trials=n, n_jobs=jobs)
    total = time.perf_counter() - start
    print(json.dumps({"trials_per_s": n / total, "seconds": total, "best": study.best_value}))


if __name__ == "__main__":
    if sys.argv[1] == "overhead":
        overhead(int(sys.argv[2]), sys.argv[3])
    else:
        throughput(sys.argv[2], int(sys.argv[3]))
