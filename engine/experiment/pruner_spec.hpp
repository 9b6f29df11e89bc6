// The experiment's `pruner` section: which rule stops unpromising trials early, and its settings.
#pragma once

#include <lepton/config.hpp>

#include <string>

namespace lepton::engine {

/// The experiment's `pruner` section.
struct PrunerSpec {
  std::string type = "none";   ///< "none", "median" or "asha"
  int warmup_epochs = 0;       ///< median: epochs a trial always runs before it can be pruned
  int min_trials = 5;          ///< median: COMPLETE trials needed before pruning starts
  int min_epochs = 1;          ///< asha: the first rung (epochs every trial runs)
  int reduction_factor = 3;    ///< asha: rung i is at min_epochs * factor^i; 1/factor of each rung is promoted

  /// Reads the section; throws ConfigError at `path`.
  static PrunerSpec parse(const json& value, const std::string& path);
  json to_json() const;
};

}  // namespace lepton::engine
