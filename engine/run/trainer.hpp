// The `train` task: fit a classifier with the trial's settings and score it on held-out splits.
#pragma once

#include "run/scoring.hpp"
#include "spec/experiment.hpp"
#include "store/store.hpp"

#include <lepton/dataset.hpp>
#include <lepton/model.hpp>

#include <functional>
#include <stdexcept>
#include <string>

namespace lepton::engine {

/// A trial that cannot finish (NaN loss, a plugin error): recorded as FAIL with this message.
class TrialFailure : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Everything one training run needs. The data is shared read-only with the other trials.
struct TrainRequest {
  const DataSplits* data = nullptr;
  const Model* model = nullptr;
  std::string model_name;            ///< for error messages: "model mlp: ..."
  json model_params = json::object();
  json settings = json::object();    ///< trainer settings: epochs, batch_size, optimizer, lr, ...
  json preprocess = json::object();  ///< preprocessing settings, fitted on the training split
  std::vector<Objective> objectives;
  const Scoring* scoring = nullptr;  ///< the experiment's metric plugins; null: built-in metrics only
  std::uint64_t seed = 0;
  /// Called after each epoch with the first objective's validation value; returning true stops
  /// training there and the trial ends PRUNED.
  std::function<bool(int epoch, double value)> on_epoch;
};

/// Trains and evaluates. Returns COMPLETE with values and metrics (validation and test), PRUNED
/// (attrs.pruned_at_epoch) when on_epoch asks to stop, or throws TrialFailure. Deterministic for a
/// seed, whatever other trials run beside it.
TrialResult train_classifier(const TrainRequest& request);

}  // namespace lepton::engine
