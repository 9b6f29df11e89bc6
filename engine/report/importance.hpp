// Parameter importances: permutation importance (Breiman 2001) on a random-forest surrogate of
// the objective, measured on each tree's out-of-bag trials. See README "Parameter importances".
#pragma once

#include "experiment/experiment.hpp"
#include "store/store.hpp"

#include <lepton/search_space.hpp>

#include <cstddef>
#include <string>
#include <vector>

namespace lepton::engine {

struct ParamImportance {
  std::string name;
  double share = 0;          ///< this parameter's part of the total, in [0, 1]; the shares sum to 1
  double error_increase = 0; ///< mean rise of the surrogate's out-of-bag squared error when permuted
};

struct ImportanceOptions {
  int trees = 64;
  std::size_t max_trials = 4000;  ///< larger studies are subsampled (seeded) to keep reports fast
  std::uint64_t seed = 0;
};

struct Importances {
  std::string objective;                ///< the objective's metric
  std::vector<ParamImportance> params;  ///< most important first; empty when not computed
  std::size_t trials_used = 0;
  double surrogate_r2 = 0;              ///< out-of-bag R^2 of the forest: how much of the objective it explains
  std::string note;                     ///< why nothing was computed, when params is empty
};

/// Importances of the searched (non-fixed) parameters of `space` for objective `objective`, from
/// the COMPLETE trials. Needs at least kMinImportanceTrials of them with differing values.
Importances param_importances(const SearchSpace& space, const std::vector<TrialRecord>& trials,
                              const std::vector<Objective>& objectives, std::size_t objective,
                              const ImportanceOptions& options = {});

inline constexpr std::size_t kMinImportanceTrials = 5;

}  // namespace lepton::engine
