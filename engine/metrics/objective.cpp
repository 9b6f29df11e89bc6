// The built-in metric names and their default directions.
#include "metrics/objective.hpp"

#include <algorithm>

namespace lepton::engine {

json objectives_to_json(const std::vector<Objective>& objectives) {
  json out = json::array();
  for (const auto& o : objectives) out.push_back({{"metric", o.metric}, {"direction", to_string(o.direction)}});
  return out;
}

std::vector<Objective> objectives_from_json(const json& value) {
  std::vector<Objective> out;
  for (const auto& o : value)
    out.push_back({o.at("metric").get<std::string>(),
                   o.at("direction").get<std::string>() == "minimize" ? Direction::kMinimize : Direction::kMaximize});
  return out;
}

const std::vector<std::string>& split_metric_names() {
  static const std::vector<std::string> names = {"accuracy", "precision", "recall", "f1", "roc_auc", "loss"};
  return names;
}

const std::vector<std::string>& known_metrics() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> all;
    for (const char* split : {"val", "test"})
      for (const auto& name : split_metric_names()) all.push_back(std::string(split) + "_" + name);
    all.push_back("train_loss");
    return all;
  }();
  return names;
}

bool is_builtin_metric(const std::string& metric) {
  const auto& all = known_metrics();
  return metric == "parameter_count" || metric == "latency_ms" || std::find(all.begin(), all.end(), metric) != all.end();
}

Direction default_direction(const std::string& metric) {
  const bool loss = metric.size() >= 4 && metric.compare(metric.size() - 4, 4, "loss") == 0;
  const bool cost = metric == "parameter_count" || metric == "latency_ms";
  return loss || cost ? Direction::kMinimize : Direction::kMaximize;
}

}  // namespace lepton::engine
