"""The peer of bench/report: Optuna 3.1's own HTML plots (optuna.visualization, plotly 5 from
Debian) for the same study, read from the journal `lepton export-trials --format optuna-journal`
wrote. Writes one self-contained page (plotly.js inlined once) with the plots closest to Lepton's
report and prints the time each step took as JSON.

usage: /usr/bin/python3 bench/report/optuna_peer.py JOURNAL STUDY OUT.html
"""
import json
import sys
import time
import warnings

import optuna

warnings.simplefilter("ignore")
optuna.logging.set_verbosity(optuna.logging.ERROR)


def main(journal, name, out):
    times = {}
    start = time.perf_counter()
    storage = optuna.storages.JournalStorage(optuna.storages.JournalFileStorage(journal))
    study = optuna.load_study(study_name=name, storage=storage)
    study.get_trials()
    times["load_s"] = time.perf_counter() - start

    v = optuna.visualization
    plots = [
        ("history", lambda: v.plot_optimization_history(study)),
        ("parallel", lambda: v.plot_parallel_coordinate(study)),
        ("importance", lambda: v.plot_param_importances(study)),  # fANOVA, Optuna's default
        ("curves", lambda: v.plot_intermediate_values(study)),
    ]
    parts = []
    for i, (key, make) in enumerate(plots):
        t = time.perf_counter()
        figure = make()
        parts.append(figure.to_html(full_html=False, include_plotlyjs=(i == 0)))
        times[key + "_s"] = time.perf_counter() - t
    t = time.perf_counter()
    with open(out, "w") as f:
        f.write("<!doctype html><html><head><meta charset='utf-8'><title>Optuna plots</title></head><body>\n")
        f.write("\n".join(parts))
        f.write("\n</body></html>\n")
    times["write_s"] = time.perf_counter() - t
    times["total_s"] = time.perf_counter() - start
    times["trials"] = len(study.trials)
    print(json.dumps(times))


if __name__ == "__main__":
    main(*sys.argv[1:4])
