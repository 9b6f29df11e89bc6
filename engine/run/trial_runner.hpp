// One trial's work in this process: route its parameters, run the experiment's task, never throw.
#pragma once

#include "plugins/registry.hpp"
#include "prepare/prepare.hpp"
#include "store/store.hpp"

#include <functional>

namespace lepton::engine {

/// Receives a trial's objective value after each epoch; returns true to stop the trial early
/// (the pruners' hook: the trial then ends PRUNED).
using EpochReport = std::function<bool(int epoch, double value)>;

/// Runs the experiment's task for `trial`: fixed settings and model parameters from the experiment,
/// overlaid by the trial's searched ones, each routed to the trainer or the model. Failures of any
/// kind come back as a FAIL result with the reason; it never throws.
TrialResult run_trial(const PreparedExperiment& prepared, const Registry& registry, const TrialRecord& trial,
                      const EpochReport& report);

}  // namespace lepton::engine
