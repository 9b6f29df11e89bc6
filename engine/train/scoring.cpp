// Built-in metrics and metric plugins side by side, under one naming scheme.
#include "train/scoring.hpp"

#include "train/metrics.hpp"

#include <torch/torch.h>

#include <stdexcept>

namespace lepton::engine {

std::map<std::string, double> Scoring::score(const at::Tensor& logits, const Split& split,
                                             const std::string& prefix) const {
  std::map<std::string, double> out;
  add_metrics(out, prefix, classification_metrics(logits, split.y));
  if (plugins_.empty()) return out;
  Predictions predictions;
  predictions.probabilities = torch::softmax(logits.to(torch::kFloat64), 1).contiguous();
  predictions.labels = split.y.to(torch::kLong).contiguous();
  if (split.outcome.defined()) predictions.outcome = split.outcome.to(torch::kFloat64).contiguous();
  predictions.split = prefix;
  for (const auto& plugin : plugins_) {
    std::map<std::string, double> values;
    try {
      values = plugin.set->compute(predictions);
    } catch (const std::exception& e) {
      throw std::runtime_error("metric plugin " + plugin.name + ": " + e.what());
    }
    for (const auto& m : plugin.metrics) {
      const auto it = values.find(m.name);
      if (it == values.end())
        throw std::runtime_error("metric plugin " + plugin.name + " declares \"" + m.name + "\" but did not compute it");
      out[prefix + "_" + m.name] = it->second;
    }
  }
  return out;
}

std::optional<Direction> Scoring::direction_of(const std::string& metric) const {
  for (const auto& plugin : plugins_)
    for (const auto& m : plugin.metrics)
      for (const char* split : {"val_", "test_"})
        if (metric == split + m.name) return m.direction;
  return std::nullopt;
}

}  // namespace lepton::engine
