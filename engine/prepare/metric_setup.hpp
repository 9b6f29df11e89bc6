// Binding an experiment's metric plugins and objectives to the loaded plugins and the data.
#pragma once

#include "plugins/registry.hpp"
#include "train/scoring.hpp"
#include "experiment/experiment.hpp"

#include <memory>

namespace lepton::engine {

/// Creates the experiment's metric sets (each checks its options against the data's classes),
/// checks that every objective names a built-in metric or one a listed plugin declares, and fills
/// in the directions the file left to the plugins' manifests. Also checks `task.class_weight`
/// against the classes. Throws ConfigError naming the JSON path; writes nothing.
std::shared_ptr<const Scoring> bind_metrics(Experiment& experiment, const Registry& registry, const DataSplits& data);

/// "val_<metric>" / "test_<metric>" -> "maximize" / "minimize" for every plugin metric: stored with
/// the study so that rankings by a non-objective metric sort the right way.
json metric_directions(const Scoring& scoring);

}  // namespace lepton::engine
