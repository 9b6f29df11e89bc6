// Trials out of the store: CSV for spreadsheets and pandas, JSON for scripts, and an Optuna 3.1
// JournalStorage file so that Optuna (and its plotting tools) can open a Lepton study.
#pragma once

#include "experiment/experiment.hpp"
#include "store/store.hpp"

#include <ostream>
#include <string>
#include <vector>

namespace lepton::engine {

/// One row per trial: number, state, values_<metric>, params_<name>, metrics_<name>, attrs_<key>
/// (scalars), seed, datetime_start, datetime_complete (ISO 8601, UTC), duration_s, epochs, error.
void write_trials_csv(const StudyRecord& study, const std::vector<TrialRecord>& trials, std::ostream& out);

/// {"study": {name, objectives, created_at, experiment}, "trials": [trial_to_json...]}.
json trials_document(const StudyRecord& study, const std::vector<TrialRecord>& trials);

/// Writes Optuna's journal format (one JSON operation per line): the study with its directions,
/// then each trial with its state, values, params (with distributions from the study's search
/// space), intermediate values, start and end times. Metrics, the seed and Lepton's trial number
/// become user attrs; a failure's reason becomes the system attr "fail_reason".
void write_optuna_journal(const StudyRecord& study, const SearchSpace& space, const std::vector<TrialRecord>& trials,
                          std::ostream& out);

/// A CSV field quoted when it holds a comma, quote, CR or LF (RFC 4180).
std::string csv_field(const std::string& text);

/// Unix seconds as ISO 8601: UTC with "Z", or local time without an offset (as Optuna writes).
std::string iso_time(double unix_seconds, bool utc);

}  // namespace lepton::engine
