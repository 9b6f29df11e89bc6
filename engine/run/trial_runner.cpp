// Parameter routing and task dispatch for one trial.
#include "run/trial_runner.hpp"

#include "run/trainer.hpp"
#include "run/trial_params.hpp"

namespace lepton::engine {

TrialResult run_trial(const PreparedExperiment& prepared, const Registry& registry, const TrialRecord& trial,
                      const EpochReport& report) {
  const Experiment& e = prepared.experiment;
  TrialResult result;
  try {
    TrainRequest request;
    request.data = prepared.data.get();
    TrialParams params = route_trial_params(e, trial.params);
    request.model = &registry.model(params.model_plugin);
    request.model_name = params.model_plugin;
    request.objectives = e.task.objectives;
    request.scoring = prepared.scoring.get();
    request.seed = trial.seed;
    request.settings = std::move(params.settings);
    request.model_params = std::move(params.model);
    request.preprocess = std::move(params.preprocess);
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
