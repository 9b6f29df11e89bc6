// Parameter routing, task dispatch and the trained model's artifact for one trial.
#include "run/trial_runner.hpp"

#include "train/checkpoint.hpp"
#include "train/tasks/task.hpp"
#include "run/trial_params.hpp"

#include <filesystem>

namespace lepton::engine {

namespace {

// Saves a COMPLETE trial's network where the study keeps its artifacts; a failure to save is
// recorded beside the result rather than failing a trial that trained fine.
void save_artifact(const PreparedExperiment& prepared, const Registry& registry, const TrialRecord& trial,
                   const std::string& model_plugin, const TaskOutput& output, TrialResult& result) {
  if (prepared.artifact_dir.empty() || !output.network || result.state != TrialState::kComplete) return;
  const Experiment& e = prepared.experiment;
  const TaskResources& task = *prepared.task;
  ModelCard card;
  card.model_plugin = model_plugin;
  for (const auto& r : registry.records())
    if (r.loaded && r.kind == PluginKind::kModel && r.name == model_plugin) card.model_version = r.version;
  card.preprocess = output.preprocess;
  card.model_params = output.model_params;
  card.input_shape = prepared.data->input_shape;
  card.class_names = prepared.data->class_names;
  card.feature_names = prepared.data->feature_names;
  // A fine-tuned model's files were named relative to its source's folders.
  if (task.source && e.task.type == TaskType::kFinetune) card.search_dirs = task.source->card.search_dirs;
  card.search_dirs.insert(card.search_dirs.end(), e.data_dirs.begin(), e.data_dirs.end());
  card.dataset_plugin = prepared.dataset_plugin;
  card.dataset_config = e.dataset.config;
  card.dataset_config.erase("subset");
  card.dataset_fitted = task.dataset_fitted;
  if (!e.subset.classes.empty()) card.subset_classes = task.subset_classes;
  json metrics = json::object();
  for (const auto& [name, value] : result.metrics) metrics[name] = value;
  card.provenance = {{"experiment", e.name}, {"task", to_string(e.task.type)}, {"trial", trial.number},
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
    TrialParams params = route_trial_params(e, trial.params);
    if (e.model_choices.empty()) params.model_plugin = prepared.model_plugin;  // a finetune's is its source's
    TaskInput input;
    input.experiment = &e;
    input.data = prepared.data.get();
    input.resources = prepared.task.get();
    input.model = &registry.model(params.model_plugin);
    input.model_name = params.model_plugin;
    input.scoring = prepared.scoring.get();
    input.seed = trial.seed;
    input.settings = std::move(params.settings);
    input.model_params = std::move(params.model);
    input.preprocess = std::move(params.preprocess);
    input.on_epoch = report;
    TaskOutput output = run_task(input);
    result = std::move(output.result);
    save_artifact(prepared, registry, trial, input.model_name, output, result);
  } catch (const std::exception& ex) {
    result = TrialResult{};
    result.state = TrialState::kFail;
    result.error = ex.what();
  }
  return result;
}

}  // namespace lepton::engine
