// Parameter routing and task dispatch for one trial.
#include "run/trial_runner.hpp"

#include "run/trainer.hpp"

#include <algorithm>

namespace lepton::engine {

TrialResult run_trial(const PreparedExperiment& prepared, const Registry& registry, const TrialRecord& trial,
                      const EpochReport& report) {
  const Experiment& e = prepared.experiment;
  TrialResult result;
  try {
    TrainRequest request;
    request.data = prepared.data.get();
    request.model = &registry.model(prepared.model_plugin);
    request.model_name = prepared.model_plugin;
    request.objectives = e.task.objectives;
    request.scoring = prepared.scoring.get();
    request.seed = trial.seed;
    request.settings = e.task.settings;
    request.model_params = e.model.config;
    for (const auto& item : trial.params.items()) {
      const auto& owned = prepared.trainer_params;
      const bool trainer = std::find(owned.begin(), owned.end(), item.key()) != owned.end();
      (trainer ? request.settings : request.model_params)[item.key()] = item.value();
    }
    request.on_epoch = report;
    result = train_classifier(request);
  } catch (const std::exception& ex) {
    result = TrialResult{};
    result.state = TrialState::kFail;
    result.error = ex.what();
  }
  return result;
}

}  // namespace lepton::engine
