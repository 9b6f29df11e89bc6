// Ranking trials for reports: the `--sort` key a user names, the Pareto front best first, and a
// trial as JSON.
#pragma once

#include "experiment/experiment.hpp"
#include "store/store.hpp"
#include "store/trial_order.hpp"

#include <optional>
#include <string>
#include <vector>

namespace lepton::engine {

/// The key for `--sort NAME`: an objective's metric sorts by that objective; another metric by
/// its value, in the direction `metric_directions` (the study's "metric_directions" attribute,
/// from metric plugins' manifests) gives, else its objective's for the other split (test_x like
/// val_x), else losses ascending and the rest descending. Throws ConfigError when no trial has
/// that metric.
SortKey sort_key(const std::string& name, const std::vector<Objective>& objectives,
                 const std::vector<TrialRecord>& trials, const json& metric_directions = json());

/// The Pareto front's trials (report/pareto.hpp), best first by the first objective (ties: lower
/// number first). With one objective, the trials that share the best value.
std::vector<TrialRecord> ranked_front(const std::vector<TrialRecord>& trials, const std::vector<Objective>& objectives);

/// A trial's stored fields as JSON: number, state, values (objective name -> value), params,
/// metrics, intermediate, error, seed, times and duration. NaN becomes null.
json trial_to_json(const TrialRecord& trial, const std::vector<Objective>& objectives);

}  // namespace lepton::engine
