// The preparation stage: experiment + registry -> a prepared study, done once before any trial.
#pragma once

#include "plugins/registry.hpp"
#include "train/scoring.hpp"
#include "experiment/experiment.hpp"
#include "store/store.hpp"

#include <lepton/dataset.hpp>

#include <memory>
#include <string>

namespace lepton::engine {

struct TaskResources;

/// An experiment whose plugins, parameters and data have been checked: nothing is written to any
/// store before this succeeds, so bad input never leaves a half-made study behind.
struct PreparedExperiment {
  Experiment experiment;
  std::shared_ptr<const DataSplits> data;
  std::string dataset_plugin, model_plugin, searcher_plugin;
  /// What the task prepared once for all trials: a fine-tuning source, a teacher and its outputs.
  std::shared_ptr<const TaskResources> task;
  /// Where COMPLETE trials save their models (trial-N/ inside); empty: not saved.
  std::string artifact_dir;
  /// The built-in metrics plus the experiment's metric plugins.
  std::shared_ptr<const Scoring> scoring;
};

/// Resolves plugins, checks every parameter against its owner's schema, loads the data and checks
/// the searcher accepts its options. Throws ConfigError naming the JSON path of any problem.
PreparedExperiment prepare_experiment(Experiment experiment, const Registry& registry);

/// What the study stores to be resumed: the experiment document and its data folders.
json study_spec(const Experiment& experiment);
/// The experiment a study was created from.
Experiment experiment_of(const StudyRecord& study);

}  // namespace lepton::engine
