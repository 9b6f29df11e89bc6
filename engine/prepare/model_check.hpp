// Before any trial: the model plugin's own checks (Model::check) of what every trial would build,
// so a missing file or a network that cannot fit the data stops the study with exit 2.
#pragma once

#include "plugins/registry.hpp"
#include "experiment/experiment.hpp"

#include <lepton/dataset.hpp>

namespace lepton::engine {

/// For train and distill tasks, calls the model plugin's check() (each family's, with model
/// choices) with its fixed parameters on the input shape the preprocessing gives (searched
/// preprocessing settings at their first value), once per choice of each searched categorical model
/// parameter (the others at their first choice). Throws the plugin's ConfigError; one about a
/// searched parameter names that choice's JSON path.
void check_model_before_trials(const Experiment& e, const Registry& registry, const DataSplits& data);

}  // namespace lepton::engine
