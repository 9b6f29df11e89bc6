// Ranking trials: by the study's objective, or by any stored metric.
#pragma once

#include "experiment/experiment.hpp"
#include "store/store.hpp"

#include <optional>
#include <string>
#include <vector>

namespace lepton::engine {

/// How to order trials: by objective `objective` (default 0) or by a metric name.
struct SortKey {
  std::string metric;    ///< empty: the objective
  std::size_t objective = 0;
  Direction direction = Direction::kMaximize;
};

/// The key for `--sort NAME`: an objective's metric sorts by that objective; another metric by
/// its value, in the direction `metric_directions` (the study's "metric_directions" attribute,
/// from metric plugins' manifests) gives, else its objective's for the other split (test_x like
/// val_x), else losses ascending and the rest descending. Throws ConfigError when no trial has
/// that metric.
SortKey sort_key(const std::string& name, const std::vector<Objective>& objectives,
                 const std::vector<TrialRecord>& trials, const json& metric_directions = json());

/// The value a trial has for `key`, or NaN.
double sort_value(const TrialRecord& trial, const SortKey& key);

/// COMPLETE trials with a value for `key`, best first (ties: lower number first).
std::vector<TrialRecord> rank(const std::vector<TrialRecord>& trials, const SortKey& key);

/// The best COMPLETE trial for the first objective, if any.
std::optional<TrialRecord> best_trial(const std::vector<TrialRecord>& trials, const std::vector<Objective>& objectives);

/// The Pareto front's trials (report/pareto.hpp), best first by the first objective (ties: lower
/// number first). With one objective, the trials that share the best value.
std::vector<TrialRecord> ranked_front(const std::vector<TrialRecord>& trials, const std::vector<Objective>& objectives);

/// A trial's stored fields as JSON: number, state, values (objective name -> value), params,
/// metrics, intermediate, error, seed, times and duration. NaN becomes null.
json trial_to_json(const TrialRecord& trial, const std::vector<Objective>& objectives);

}  // namespace lepton::engine
