"""Opens a journal file `lepton export-trials --format optuna-journal` wrote, with Optuna's own
JournalStorage, and prints what Optuna sees as one JSON document: the study's directions and each
trial's number, state, values, params, distributions, intermediate values, user attrs and times.

usage: /usr/bin/python3 tests/tools/optuna_load_journal.py JOURNAL STUDY_NAME
(Debian's python3-optuna, 3.1)
"""
import json
import math
import sys
import warnings

import optuna
from optuna.distributions import distribution_to_json

warnings.simplefilter("ignore")  # JournalStorage is marked experimental in 3.1
optuna.logging.set_verbosity(optuna.logging.ERROR)


def finite(v):
    return None if v is None or (isinstance(v, float) and not math.isfinite(v)) else v


def main(path, name):
    storage = optuna.storages.JournalStorage(optuna.storages.JournalFileStorage(path))
    study = optuna.load_study(study_name=name, storage=storage)
    trials = []
    for t in study.get_trials(deepcopy=False):
        trials.append({
            "number": t.number,
            "state": t.state.name,
            "values": [finite(v) for v in t.values] if t.values is not None else None,
            "params": t.params,
            "distributions": {k: json.loads(distribution_to_json(d)) for k, d in t.distributions.items()},
            "intermediate_values": {str(k): finite(v) for k, v in t.intermediate_values.items()},
            "user_attrs": t.user_attrs,
            "system_attrs": t.system_attrs,
            "datetime_start": t.datetime_start.isoformat() if t.datetime_start else None,
            "datetime_complete": t.datetime_complete.isoformat() if t.datetime_complete else None,
        })
    best = None
    if len(study.directions) == 1 and any(t["state"] == "COMPLETE" for t in trials):
        best = study.best_trial.number
    print(json.dumps({
        "optuna_version": optuna.__version__,
        "study_name": study.study_name,
        "directions": [d.name for d in study.directions],
        "best_trial": best,
        "trials": trials,
    }))


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
