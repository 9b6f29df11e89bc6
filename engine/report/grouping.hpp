// Ranking groups of trials against each other, e.g. model families by their best trial.
#pragma once

#include "report/ranking.hpp"

#include <iosfwd>
#include <optional>
#include <string>
#include <vector>

namespace lepton::engine {

/// The trials that share one value of a parameter.
struct TrialGroup {
  json value;                        ///< the parameter's value; null for trials without it
  int trials = 0, complete = 0, pruned = 0, failed = 0;
  std::optional<TrialRecord> best;   ///< the group's best COMPLETE trial for the key
  double best_value = 0;             ///< the best trial's value of the key (NaN if none)
  double mean = 0;                   ///< mean of the key over the group's COMPLETE trials (NaN if none)
};

/// Groups `trials` by their value of parameter `param` and orders the groups by their best trial
/// (groups without a COMPLETE trial last). Throws ConfigError at "--group-by" when no trial has
/// `param`, listing the parameters they have.
std::vector<TrialGroup> group_trials(const std::vector<TrialRecord>& trials, const std::string& param,
                                     const SortKey& key);

/// The groups as a table: rank, value, counts, best and mean of the key, best trial and its parameters.
void print_groups(const std::vector<TrialGroup>& groups, const std::string& param, const std::string& key_name,
                  std::ostream& out);

/// The groups as a JSON array of {param: value, trials, complete, pruned, failed, best_value, mean, best}.
json groups_to_json(const std::vector<TrialGroup>& groups, const std::string& param,
                    const std::vector<Objective>& objectives);

}  // namespace lepton::engine
