// Checks of `model.choices` against the plugins: each family's plugin, fixed values and searched ranges.
#pragma once

#include "plugins/registry.hpp"
#include "experiment/experiment.hpp"

namespace lepton::engine {

/// For every family of `e.model_choices`: its plugin is a loaded model plugin, and each of its fixed
/// values and searched ranges is accepted by its owner (the task, the preprocessing or the family's
/// plugin). Shared searched parameters that are neither the task's nor the preprocessing's must be
/// taken by every family. Throws ConfigError at the JSON path of the first problem.
void check_model_choices(const Experiment& e, const Registry& registry);

}  // namespace lepton::engine
