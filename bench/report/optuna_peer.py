"""The peer of bench/report: Optuna 3.1's own HTML plots (optuna.visualization, plotly 5 from
Debian) for the same study, read from the journal `lepton export-trials --format optuna-journal`
wrote. Writes one self-contained page (plotly.js inlined once) with the plots closest to Lepton's
report and prints the time each step took as JSON.

Optuna's default importance evaluator (fANOVA) gets FANOVA_LIMIT seconds in a child process; when
it has not finished by then the page uses MeanDecreaseImpurity (scikit-learn's forest) instead and
the output says so.

usage: /usr/bin/python3 bench/report/optuna_peer.py JOURNAL STUDY OUT.html [FANOVA_LIMIT=120]
"""
import json
import multiprocessing
import sys
import tempfile
import time
import warnings

import optuna

warnings.simplefilter("ignore")
optuna.logging.set_verbosity(optuna.logging.ERROR)


def load(journal, name):
    storage = optuna.storages.JournalStorage(optuna.storages.JournalFileStorage(journal))
    study = optuna.load_study(study_name=name, storage=storage)
    study.get_trials()
    return study


def fanova_page_part(journal, name, out):
    figure = optuna.visualization.plot_param_importances(load(journal, name))  # fANOVA, the default
    with open(out, "w") as f:
        f.write(figure.to_html(full_html=False, include_plotlyjs=False))


def log(message):
    print("optuna peer: " + message, file=sys.stderr, flush=True)


def main(journal, name, out, fanova_limit=120.0):
    times = {}
    start = time.perf_counter()
    study = load(journal, name)
    times["load_s"] = time.perf_counter() - start
    log("loaded %d trials in %.1f s" % (len(study.trials), times["load_s"]))

    v = optuna.visualization
    parts = []
    for key, make in [("history", lambda: v.plot_optimization_history(study)),
                      ("parallel", lambda: v.plot_parallel_coordinate(study))]:
        t = time.perf_counter()
        parts.append(make().to_html(full_html=False, include_plotlyjs=not parts))
        times[key + "_s"] = time.perf_counter() - t
        log("%s plot in %.1f s" % (key, times[key + "_s"]))

    t = time.perf_counter()
    with tempfile.NamedTemporaryFile(suffix=".html") as part:
        child = multiprocessing.Process(target=fanova_page_part, args=(journal, name, part.name))
        child.start()
        child.join(fanova_limit)
        if child.is_alive():
            child.terminate()
            child.join()
            times["fanova_s"] = None
            times["fanova_limit_s"] = fanova_limit
            log("fANOVA importances did not finish in %.0f s; using MeanDecreaseImpurity" % fanova_limit)
            t = time.perf_counter()
            evaluator = optuna.importance.MeanDecreaseImpurityImportanceEvaluator()
            parts.append(v.plot_param_importances(study, evaluator=evaluator).to_html(full_html=False, include_plotlyjs=False))
            times["importance_s"] = time.perf_counter() - t
            times["importance_evaluator"] = "MeanDecreaseImpurity"
        else:
            times["fanova_s"] = times["importance_s"] = time.perf_counter() - t
            times["importance_evaluator"] = "fANOVA"
            parts.append(open(part.name).read())
    log("importance plot in %.1f s (%s)" % (times["importance_s"], times["importance_evaluator"]))

    t = time.perf_counter()
    parts.append(v.plot_intermediate_values(study).to_html(full_html=False, include_plotlyjs=False))
    times["curves_s"] = time.perf_counter() - t
    log("intermediate values plot in %.1f s" % times["curves_s"])

    t = time.perf_counter()
    with open(out, "w") as f:
        f.write("<!doctype html><html><head><meta charset='utf-8'><title>Optuna plots</title></head><body>\n")
        f.write("\n".join(parts))
        f.write("\n</body></html>\n")
    times["write_s"] = time.perf_counter() - t
    # Without the time spent waiting on fANOVA when it was cut off: what the page really needed.
    times["total_s"] = sum(times[k] for k in ("load_s", "history_s", "parallel_s", "importance_s", "curves_s", "write_s"))
    times["trials"] = len(study.trials)
    print(json.dumps(times))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4]) if len(sys.argv) > 4 else 120.0)
