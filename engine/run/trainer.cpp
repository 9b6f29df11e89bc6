// The training loop: mini-batches by index over in-memory tensors, a finite-loss check every step,
// and metrics on validation and test splits at the end.
#include "run/trainer.hpp"

#include "run/class_weights.hpp"
#include "run/metrics.hpp"
#include "run/preprocess.hpp"
#include "spec/parameters.hpp"

#include <torch/torch.h>

#include <cmath>
#include <mutex>
#include <sstream>

namespace lepton::engine {

namespace {

struct Settings {
  int epochs;
  std::int64_t batch_size;
  std::string optimizer;
  double lr, weight_decay, momentum;
};

Settings read_settings(const json& given) {
  const ParamSchema& schema = task_schema("train");
  auto value = [&](const std::string& name) {
    const auto it = given.find(name);
    return it != given.end() ? *it : schema.find(name)->default_value;
  };
  return Settings{value("epochs").get<int>(),        value("batch_size").get<std::int64_t>(),
                  value("optimizer").get<std::string>(), value("lr").get<double>(),
                  value("weight_decay").get<double>(),   value("momentum").get<double>()};
}

std::unique_ptr<torch::optim::Optimizer> make_optimizer(const Settings& s, std::vector<torch::Tensor> parameters) {
  if (s.optimizer == "sgd")
    return std::make_unique<torch::optim::SGD>(
        parameters, torch::optim::SGDOptions(s.lr).momentum(s.momentum).weight_decay(s.weight_decay));
  if (s.optimizer == "adamw")
    return std::make_unique<torch::optim::AdamW>(parameters,
                                                 torch::optim::AdamWOptions(s.lr).weight_decay(s.weight_decay));
  return std::make_unique<torch::optim::Adam>(parameters, torch::optim::AdamOptions(s.lr).weight_decay(s.weight_decay));
}

// Logits for a whole split, in chunks so large splits do not need one huge activation tensor.
torch::Tensor predict_logits(Network& net, const torch::Tensor& x) {
  torch::NoGradGuard no_grad;
  constexpr std::int64_t kChunk = 4096;
  std::vector<torch::Tensor> parts;
  for (std::int64_t begin = 0; begin < x.size(0); begin += kChunk)
    parts.push_back(net.forward(x.slice(0, begin, std::min(begin + kChunk, x.size(0)))));
  return parts.size() == 1 ? parts.front() : torch::cat(parts);
}

// Model construction draws initial weights from the process-wide generator, so it is serialized
// and seeded per trial: the same seed gives the same initial network whatever runs beside it.
std::mutex& build_mutex() {
  static std::mutex m;
  return m;
}

}  // namespace

TrialResult train_classifier(const TrainRequest& request) {
  const DataSplits& data = *request.data;
  const Settings s = read_settings(request.settings);
  TrialGeneratorScope trial_random(request.seed);

  ModelRequest model_request;
  model_request.params = request.model_params;
  const Preprocessor pre = fit_preprocessor(request.preprocess, data.train.x);  // training split only
  model_request.shape.input = pre.output_shape();
  model_request.shape.classes = static_cast<std::int64_t>(data.class_names.size());
  std::shared_ptr<Network> net;
  try {
    std::lock_guard lock(build_mutex());
    torch::manual_seed(request.seed);
    net = request.model->build(model_request);
  } catch (const std::exception& e) {
    throw TrialFailure("model " + request.model_name + ": " + e.what());
  }
  if (!net) throw TrialFailure("model " + request.model_name + ": build() returned no network");
  net = with_preprocessing(std::move(net), pre);

  auto optimizer = make_optimizer(s, net->parameters());
  const auto n = data.train.size();
  if (n == 0) throw TrialFailure("the training split is empty");
  const std::string first_metric = request.objectives.front().metric;
  const Scoring builtin_only;
  const Scoring& scoring = request.scoring ? *request.scoring : builtin_only;
  const auto loss_options = torch::nn::functional::CrossEntropyFuncOptions().weight(
      class_weights(request.settings.value("class_weight", json("none")), data));
  double train_loss = 0;
  std::map<std::string, double> valid_metrics;

  for (int epoch = 1; epoch <= s.epochs; ++epoch) {
    net->train();
    const auto order = torch::randperm(n, trial_generator(), torch::kLong);
    double loss_sum = 0;
    std::int64_t steps = 0;
    for (std::int64_t begin = 0; begin < n; begin += s.batch_size) {
      const auto index = order.slice(0, begin, std::min(begin + s.batch_size, n));
      const auto x = data.train.x.index_select(0, index);
      const auto y = data.train.y.index_select(0, index);
      optimizer->zero_grad();
      const auto loss = torch::nn::functional::cross_entropy(net->forward(x), y, loss_options);
      const double value = loss.item<double>();
      if (!std::isfinite(value)) {
        std::ostringstream why;
        why << "loss became " << value << " at epoch " << epoch << ", step " << steps + 1
            << "; lower the learning rate (lr = " << s.lr << ")";
        throw TrialFailure(why.str());
      }
      loss.backward();
      optimizer->step();
      loss_sum += value;
      ++steps;
    }
    train_loss = loss_sum / static_cast<double>(steps);
    net->eval();
    valid_metrics = scoring.score(predict_logits(*net, data.valid.x), data.valid, "val");
    const double value = first_metric == "train_loss" ? train_loss : valid_metrics.at(first_metric);
    if (request.on_epoch && request.on_epoch(epoch, value)) {
      TrialResult pruned;
      pruned.state = TrialState::kPruned;
      pruned.metrics.insert(valid_metrics.begin(), valid_metrics.end());
      pruned.metrics["train_loss"] = train_loss;
      pruned.attrs["pruned_at_epoch"] = epoch;
      pruned.error = "pruned at epoch " + std::to_string(epoch);
      return pruned;
    }
  }

  TrialResult result;
  result.state = TrialState::kComplete;
  result.metrics.insert(valid_metrics.begin(), valid_metrics.end());
  if (data.test.size() > 0) {
    const auto test_metrics = scoring.score(predict_logits(*net, data.test.x), data.test, "test");
    result.metrics.insert(test_metrics.begin(), test_metrics.end());
  }
  result.metrics["train_loss"] = train_loss;
  std::int64_t parameter_count = 0;
  for (const auto& p : net->parameters()) parameter_count += p.numel();
  result.attrs["parameter_count"] = parameter_count;
  if (!pre.identity()) result.attrs["preprocess"] = pre.describe();
  for (const auto& objective : request.objectives) {
    const auto it = result.metrics.find(objective.metric);
    const double v = it == result.metrics.end() ? std::nan("") : it->second;
    if (!std::isfinite(v))
      throw TrialFailure("objective " + objective.metric + " is " + std::to_string(v) +
                         " (undefined on this split, e.g. ROC-AUC with one class present)");
    result.values.push_back(v);
  }
  return result;
}

}  // namespace lepton::engine
