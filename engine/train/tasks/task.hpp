// The tasks (train, finetune, distill): what a study prepares once for them, and one trial's run.
// prepare/task_sources.hpp fills TaskResources; run_task reads it.
#pragma once

#include "plugins/registry.hpp"
#include "train/checkpoint.hpp"
#include "train/scoring.hpp"
#include "train/trainer.hpp"
#include "experiment/experiment.hpp"
#include "store/store.hpp"

#include <lepton/dataset.hpp>
#include <lepton/model.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace lepton::engine {

class Teacher;
class BackboneFeatures;

/// The saved model a finetune task starts from, or a distill task's teacher.
struct SourceModel {
  std::string folder;            ///< the saved model's folder
  ModelCard card;
  std::string description;       ///< "trial 3 of study digits-teacher", or the folder
  json reference;                ///< stored with each trial: {"study", "trial", "storage"} or {"path"}
  std::shared_ptr<Network> net;  ///< loaded once (eval mode); trials copy its weights, never train it
};

/// What a study's task needs beyond a trial's parameters, prepared once before any trial and
/// shared read-only by all of them.
struct TaskResources {
  std::optional<SourceModel> source;        ///< finetune: the source; distill: the teacher's model
  std::shared_ptr<const Teacher> teacher;   ///< distill: the teacher's outputs on this study's data
  /// finetune: the source's backbone features on this study's data, computed when a trial first
  /// trains the head alone (a frozen backbone)
  std::shared_ptr<const BackboneFeatures> backbone_features;
  std::vector<std::int64_t> subset_classes; ///< the dataset's class indices the study keeps, in order
  json dataset_fitted = json::object();     ///< the dataset plugin's fitted state (saved with models)
};

/// The objective reported per epoch (and seen by pruners): the first objective with a per-epoch
/// value (val_* or train_loss); none when every objective is a cost such as parameter_count.
std::optional<std::size_t> epoch_objective(const std::vector<Objective>& objectives);

/// One trial's work order.
struct TaskInput {
  const Experiment* experiment = nullptr;
  const DataSplits* data = nullptr;
  const TaskResources* resources = nullptr;
  const Model* model = nullptr;
  std::string model_name;
  json settings = json::object();      ///< trainer settings: fixed, overlaid by searched
  json model_params = json::object();  ///< model parameters: fixed, overlaid by searched
  json preprocess = json::object();    ///< preprocessing settings, fitted on each run's training rows
  const Scoring* scoring = nullptr;    ///< the experiment's metric plugins; null: built-in metrics only
  std::uint64_t seed = 0;
  /// Called after each epoch with the epoch objective's value; returning true stops the trial
  /// there (PRUNED, attrs.pruned_at_epoch).
  std::function<bool(int epoch, double value)> on_epoch;
};

/// What a trial produced.
struct TaskOutput {
  TrialResult result;
  std::shared_ptr<Network> network;   ///< the trained network when COMPLETE (null for folds without refit)
  json model_params = json::object(); ///< the parameters it was built with (a finetune's include the source's)
  json preprocess = json::object();   ///< what `network`'s preprocessing fitted (Preprocessor::describe()); empty: none
};

/// Runs the experiment's task for one trial: trains (k runs in lockstep for cross-validation),
/// reports each epoch, and scores on valid and test. Throws TrialFailure (or another exception)
/// when the trial cannot finish. Deterministic for a seed whatever runs beside it.
TaskOutput run_task(const TaskInput& input);

}  // namespace lepton::engine
