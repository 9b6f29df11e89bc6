// Where a trial's parameters go: the model family it chose, the model, the trainer and the preprocessing.
#pragma once

#include "experiment/experiment.hpp"

#include <lepton/config.hpp>

#include <string>

namespace lepton::engine {

/// A trial's parameters sorted by owner, fixed values overlaid by searched ones.
struct TrialParams {
  std::string model_plugin;           ///< the plugin that builds this trial's network
  json model = json::object();        ///< its parameters (a family's without their "<family>." prefix)
  json settings = json::object();     ///< the task's (trainer) settings
  json preprocess = json::object();   ///< the preprocessing settings
};

/// Routes `params` (a trial's searched values): the task's settings and preprocessing settings by
/// name, everything else to the model; with model choices, the chosen family's plugin and fixed
/// values, and its parameters without their prefix. Throws ConfigError when `params` chose no family.
TrialParams route_trial_params(const Experiment& e, const json& params);

}  // namespace lepton::engine
