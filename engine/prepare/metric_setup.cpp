// Metric plugins are configured once per study, before anything is stored.
#include "prepare/metric_setup.hpp"

#include "prepare/names_text.hpp"
#include "train/class_weights.hpp"
#include "train/metrics.hpp"

#include <algorithm>

namespace lepton::engine {

std::shared_ptr<const Scoring> bind_metrics(Experiment& experiment, const Registry& registry, const DataSplits& data) {
  auto scoring = std::make_shared<Scoring>();
  std::vector<std::string> plugin_metrics;
  for (const auto& section : experiment.metrics) {
    const PluginRecord& record = registry.require(PluginKind::kMetric, section.plugin, section.path + ".plugin");
    for (const auto& m : record.metrics) {
      const std::string name = "val_" + m.name;
      if (is_builtin_metric(name) ||
          std::find(plugin_metrics.begin(), plugin_metrics.end(), name) != plugin_metrics.end())
        throw ConfigError(section.path + ".plugin", "metric plugin \"" + record.name + "\" declares \"" + m.name +
                                                        "\", which another metric of this experiment already has");
      plugin_metrics.push_back(name);
    }
    MetricSetup setup;
    setup.options = section.config;
    setup.path = section.path;
    setup.class_names = data.class_names;
    std::unique_ptr<MetricSet> set = registry.metric(section.plugin)(setup);
    if (!set) throw ConfigError(section.path + ".plugin", "metric plugin \"" + record.name + "\" created no metric set");
    scoring->add({record.name, std::shared_ptr<const MetricSet>(std::move(set)), record.metrics});
  }

  const json& objective_doc = experiment.document.at("task").at("objective");
  for (std::size_t i = 0; i < experiment.task.objectives.size(); ++i) {
    Objective& objective = experiment.task.objectives[i];
    if (is_builtin_metric(objective.metric)) continue;
    const std::string path = std::string("task.objective") + (objective_doc.is_array() ? "[" + std::to_string(i) + "]" : "") + ".metric";
    const auto direction = scoring->direction_of(objective.metric);
    if (!direction) {
      std::vector<std::string> all;
      for (const auto& m : known_metrics())
        if (m.rfind("test_", 0) != 0) all.push_back(m);
      all.insert(all.end(), plugin_metrics.begin(), plugin_metrics.end());
      std::string message = "no metric \"" + objective.metric + "\"";
      if (auto near = closest_match(objective.metric, all)) message += " (did you mean \"" + *near + "\"?)";
      throw ConfigError(path, message + "; the built-in metrics and those of the experiment's metric plugins are " +
                                  names_text(all));
    }
    if (!objective.direction_given) objective.direction = *direction;
  }

  if (experiment.task.settings.contains("class_weight"))
    class_weights(experiment.task.settings["class_weight"], data, "task.class_weight");
  return scoring;
}

json metric_directions(const Scoring& scoring) {
  json out = json::object();
  for (const auto& plugin : scoring.plugins())
    for (const auto& m : plugin.metrics)
      for (const char* split : {"val_", "test_"}) out[split + m.name] = to_string(m.direction);
  return out;
}

}  // namespace lepton::engine
