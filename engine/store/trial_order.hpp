// Trials in order of an objective or a stored metric, best first: what `best`, the reports and a
// study that starts from another study's best trial all rank by.
#pragma once

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

/// The value a trial has for `key`, or NaN.
double sort_value(const TrialRecord& trial, const SortKey& key);

/// COMPLETE trials with a value for `key`, best first (ties: lower number first).
std::vector<TrialRecord> rank(const std::vector<TrialRecord>& trials, const SortKey& key);

/// The best COMPLETE trial for the first objective, if any.
std::optional<TrialRecord> best_trial(const std::vector<TrialRecord>& trials, const std::vector<Objective>& objectives);

}  // namespace lepton::engine
