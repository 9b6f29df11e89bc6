#!/usr/bin/python3
"""The peer for bench/searchers: Optuna 3.1's TPE, CMA-ES and random samplers (Debian python3-optuna)
on the same four problems, with the same formulas as problems.cpp.

  optuna_peer.py --problems branin,hartmann6 --samplers tpe,cmaes,random --seeds 10 --trials 200
                 --timing-trials 2000

For each problem and sampler: the best value after 50, 100 and `trials` trials for each seed
(in-memory storage, default sampler settings), and the CPU time of each proposal (ask plus the
suggest calls, where Optuna samples) over one run of `timing-trials` trials. Prints one JSON
object on stdout; progress on stderr.
"""
import argparse
import json
import math
import sys
import time

import optuna

optuna.logging.set_verbosity(optuna.logging.WARNING)


def branin(t):
    x1 = t.suggest_float("x1", -5.0, 10.0)
    x2 = t.suggest_float("x2", 0.0, 15.0)
    b, c, tt = 5.1 / (4 * math.pi ** 2), 5 / math.pi, 1 / (8 * math.pi)
    return lambda: (x2 - b * x1 * x1 + c * x1 - 6) ** 2 + 10 * (1 - tt) * math.cos(x1) + 10


HARTMANN_ALPHA = [1.0, 1.2, 3.0, 3.2]
HARTMANN_A = [[10, 3, 17, 3.5, 1.7, 8], [0.05, 10, 17, 0.1, 8, 14], [3, 3.5, 1.7, 10, 17, 8],
              [17, 8, 0.05, 10, 0.1, 14]]
HARTMANN_P = [[1312, 1696, 5569, 124, 8283, 5886], [2329, 4135, 8307, 3736, 1004, 9991],
              [2348, 1451, 3522, 2883, 3047, 6650], [4047, 8828, 8732, 5743, 1091, 381]]


def hartmann6(t):
    x = [t.suggest_float("x%d" % (j + 1), 0.0, 1.0) for j in range(6)]

    def value():
        total = 0.0
        for i in range(4):
            inner = sum(HARTMANN_A[i][j] * (x[j] - HARTMANN_P[i][j] * 1e-4) ** 2 for j in range(6))
            total += HARTMANN_ALPHA[i] * math.exp(-inner)
        return -total
    return value


def rosenbrock10(t):
    x = [t.suggest_float("x%d" % (j + 1), -5.0, 10.0) for j in range(10)]
    return lambda: sum(100 * (x[i + 1] - x[i] ** 2) ** 2 + (1 - x[i]) ** 2 for i in range(9))


def mixed(t):
    model = t.suggest_categorical("model", ["linear", "tree", "net"])
    p = {}
    if model == "linear":
        p["alpha"] = t.suggest_float("alpha", 1e-4, 10.0, log=True)
        p["penalty"] = t.suggest_categorical("penalty", ["l1", "l2", "elasticnet"])
        if p["penalty"] == "elasticnet":
            p["l1_ratio"] = t.suggest_float("l1_ratio", 0.0, 1.0)
    elif model == "tree":
        p["depth"] = t.suggest_int("depth", 1, 20)
        p["min_leaf"] = t.suggest_int("min_leaf", 1, 100, log=True)
    else:
        p["layers"] = t.suggest_int("layers", 1, 6)
        p["width"] = t.suggest_int("width", 8, 1024, log=True)
        p["lr"] = t.suggest_float("lr", 1e-5, 1.0, log=True)
        p["dropout"] = t.suggest_float("dropout", 0.0, 0.5, step=0.05)
    batch = t.suggest_categorical("batch", [16, 32, 64, 128, 256])
    momentum = t.suggest_float("momentum", 0.0, 0.99)

    def value():
        shared = 0.0125 * (math.log2(batch) - 5) ** 2 + 0.3 * (momentum - 0.9) ** 2
        if model == "linear":
            pen = p["penalty"]
            reg = 0.03 if pen == "l1" else 0.01 if pen == "l2" else 0.1 * (p["l1_ratio"] - 0.3) ** 2
            return shared + 0.35 + 0.04 * (math.log10(p["alpha"]) + 2) ** 2 + reg
        if model == "tree":
            return shared + 0.15 + 0.002 * (p["depth"] - 9) ** 2 + 0.03 * (math.log10(p["min_leaf"]) - 1) ** 2
        a, b = math.log10(p["lr"]) + 2.5, math.log2(p["width"]) - 7
        return (shared + 0.04 * a * a + 0.02 * b * b + 0.02 * a * b + 0.01 * (p["layers"] - 3) ** 2
                + 0.4 * (p["dropout"] - 0.2) ** 2)
    return value


PROBLEMS = {"branin": branin, "hartmann6": hartmann6, "rosenbrock10": rosenbrock10, "mixed": mixed}


def sampler(name, seed):
    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed)
    if name == "cmaes":
        return optuna.samplers.CmaEsSampler(seed=seed, warn_independent_sampling=False)
    return optuna.samplers.RandomSampler(seed=seed)


def run(problem, sampler_name, seed, trials):
    """Returns the best value after each trial and the CPU seconds of each proposal (this thread's
    CPU time, as the C++ side measures: robust to other processes on a shared machine)."""
    study = optuna.create_study(sampler=sampler(sampler_name, seed), direction="minimize")
    best, times = [], []
    for _ in range(trials):
        start = time.thread_time()
        trial = study.ask()
        value = PROBLEMS[problem](trial)
        times.append(time.thread_time() - start)
        v = value()
        study.tell(trial, v)
        best.append(v if not best else min(best[-1], v))
    return best, times


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--problems", default="branin,hartmann6,rosenbrock10,mixed")
    parser.add_argument("--samplers", default="tpe,cmaes,random")
    parser.add_argument("--seeds", type=int, default=10)
    parser.add_argument("--trials", type=int, default=200)
    parser.add_argument("--checkpoints", default="50,100,200")
    parser.add_argument("--timing-trials", type=int, default=2000)
    parser.add_argument("--timing-at", default="100,1000,2000")
    args = parser.parse_args()
    checkpoints = [int(c) for c in args.checkpoints.split(",")]
    timing_at = [int(c) for c in args.timing_at.split(",")]
    out = {}
    for problem in args.problems.split(","):
        for name in args.samplers.split(","):
            print("optuna %s on %s..." % (name, problem), file=sys.stderr, flush=True)
            best_at = {str(c): [] for c in checkpoints}
            for seed in range(args.seeds):
                best, _ = run(problem, name, seed, args.trials)
                for c in checkpoints:
                    best_at[str(c)].append(best[min(c, len(best)) - 1])
            ms_at = {}
            if args.timing_trials > 0:
                _, times = run(problem, name, 0, args.timing_trials)
                for at in timing_at:
                    # proposals made with at-10 .. at-1 finished trials (the last ones before `at`)
                    window = sorted(times[max(0, at - 10):at]) or [float("nan")]
                    ms_at[str(at)] = window[len(window) // 2] * 1000
            out["%s/%s" % (problem, name)] = {"best_at": best_at, "ms_at": ms_at}
    json.dump(out, sys.stdout)
    print()


if __name__ == "__main__":
    main()
