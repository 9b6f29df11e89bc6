// The Pareto front of a multi-objective study: the COMPLETE trials no other trial dominates.
#pragma once

#include "experiment/experiment.hpp"
#include "store/store.hpp"

#include <cstddef>
#include <vector>

namespace lepton::engine {

/// Whether values `a` dominate `b`: at least as good in every objective and better in one.
bool dominates(const std::vector<double>& a, const std::vector<double>& b, const std::vector<Objective>& objectives);

/// Indices into `trials` of the non-dominated COMPLETE trials with a finite value for every
/// objective, by trial number. With one objective, the best trial(s).
std::vector<std::size_t> pareto_front(const std::vector<TrialRecord>& trials, const std::vector<Objective>& objectives);

}  // namespace lepton::engine
