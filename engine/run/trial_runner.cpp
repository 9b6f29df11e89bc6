// Parameter routing, task dispatch and the trained model's artifact for one trial.
#include "run/trial_runner.hpp"

#include "run/checkpoint.hpp"
#include "run/tasks/task.hpp"

#include <algorithm>
#include <filesystem>

namespace lepton::engine {

namespace {

// Saves a COMPLETE trial's network where the study keeps its artifacts; a failure to save is
// recorded beside the result rather than failing a trial that trained fine.
void save_artifact(const PreparedExperiment& prepared, const Registry& registry, const TrialRecord& trial,
                   const TaskOutput& output, TrialResult& result) {
  if (prepared.artifact_dir.empty() || !output.network || result.state != TrialState::kComplete) return;
  const Experiment& e = prepared.experiment;
  const TaskResources& task = *prepared.task;
  ModelCard card;
  card.model_plugin = prepared.model_plugin;
  for (const auto& r : registry.records())
    if (r.loaded && r.kind == "model" && r.name == prepared.model_plugin) card.model_version = r.version;
  card.model_params = output.model_params;
  card.input_shape = prepared.data->input_shape;
  card.class_names = prepared.data->class_names;
  card.dataset_plugin = prepared.dataset_plugin;
  card.dataset_config = e.dataset.config;
  card.dataset_config.erase("subset");
  card.dataset_fitted = task.dataset_fitted;
  if (!e.subset.classes.empty()) card.subset_classes = task.subset_classes;
  json metrics = json::object();
  for (const auto& [name, value] : result.metrics) metrics[name] = value;
  card.provenance = {{"experiment", e.name}, {"task", e.task.type}, {"trial", trial.number},
                     {"params", trial.params}, {"metrics", metrics}};
  const std::string folder = (std::filesystem::path(prepared.artifact_dir) / ("trial-" + std::to_string(trial.number))).string();
  try {
    save_model(folder, *output.network, card);
    result.artifacts["model"] = folder;
  } catch (const std::exception& e) {
    result.attrs["artifact_error"] = std::string("cannot save the model: ") + e.what();
  }
}

}  // namespace

TrialResult run_trial(const PreparedExperiment& prepared, const Registry& registry, const TrialRecord& trial,
                      const EpochReport& report) {
  const Experiment& e = prepared.experiment;
  TrialResult result;
  try {
    TaskInput input;
    input.experiment = &e;
    input.data = prepared.data.get();
    input.resources = prepared.task.get();
    input.model = &registry.model(prepared.model_plugin);
    input.model_name = prepared.model_plugin;
    input.scoring = prepared.scoring.get();
    input.seed = trial.seed;
    input.settings = e.task.settings;
    input.model_params = e.model.config;
    for (const auto& item : trial.params.items()) {
      const auto& owned = prepared.trainer_params;
      const bool trainer = std::find(owned.begin(), owned.end(), item.key()) != owned.end();
      (trainer ? input.settings : input.model_params)[item.key()] = item.value();
    }
    input.on_epoch = report;
    TaskOutput output = run_task(input);
    result = std::move(output.result);
    save_artifact(prepared, registry, trial, output, result);
  } catch (const std::exception& ex) {
    result = TrialResult{};
    result.state = TrialState::kFail;
    result.error = ex.what();
  }
  return result;
}

}  // namespace lepton::engine
