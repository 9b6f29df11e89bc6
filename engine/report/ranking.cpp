// Trial ordering and the JSON form of a trial that `best`, `trials --json` and exports share.
#include "report/ranking.hpp"

#include "report/pareto.hpp"

#include <algorithm>
#include <cmath>

namespace lepton::engine {

SortKey sort_key(const std::string& name, const std::vector<Objective>& objectives,
                 const std::vector<TrialRecord>& trials, const json& metric_directions) {
  SortKey key;
  if (name.empty()) {
    key.direction = objectives.at(0).direction;
    return key;
  }
  for (std::size_t i = 0; i < objectives.size(); ++i)
    if (objectives[i].metric == name) {
      key.objective = i;
      key.direction = objectives[i].direction;
      return key;
    }
  std::vector<std::string> available;
  for (const auto& t : trials)
    for (const auto& [metric, value] : t.metrics)
      if (std::find(available.begin(), available.end(), metric) == available.end()) available.push_back(metric);
  if (std::find(available.begin(), available.end(), name) == available.end() && !trials.empty()) {
    std::string message = "no trial has a metric \"" + name + "\"";
    if (auto near = closest_match(name, available)) message += " (did you mean \"" + *near + "\"?)";
    std::string list;
    for (const auto& a : available) list += (list.empty() ? "" : ", ") + a;
    throw ConfigError("--sort", message + "; available: " + list);
  }
  key.metric = name;
  key.direction = default_direction(name);
  const auto split_free = [](const std::string& m) { return m.substr(m.find('_') + 1); };
  for (const auto& o : objectives)
    if (split_free(o.metric) == split_free(name)) key.direction = o.direction;
  if (metric_directions.is_object() && metric_directions.contains(name))
    key.direction = metric_directions[name] == "minimize" ? Direction::kMinimize : Direction::kMaximize;
  return key;
}

std::vector<TrialRecord> ranked_front(const std::vector<TrialRecord>& trials, const std::vector<Objective>& objectives) {
  std::vector<TrialRecord> front;
  for (const std::size_t i : pareto_front(trials, objectives)) front.push_back(trials[i]);
  return rank(front, SortKey{"", 0, objectives.at(0).direction});
}

namespace {
json number_or_null(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }
}  // namespace

json trial_to_json(const TrialRecord& t, const std::vector<Objective>& objectives) {
  json values = json::object();
  for (std::size_t i = 0; i < objectives.size() && i < t.values.size(); ++i)
    values[objectives[i].metric] = number_or_null(t.values[i]);
  json metrics = json::object();
  for (const auto& [name, value] : t.metrics) metrics[name] = number_or_null(value);
  json intermediate = json::array();
  for (const auto& [step, value] : t.intermediate) intermediate.push_back({{"step", step}, {"value", number_or_null(value)}});
  json out = {{"number", t.number},
              {"state", to_string(t.state)},
              {"values", values},
              {"params", t.params},
              {"metrics", metrics},
              {"intermediate", intermediate},
              {"seed", t.seed},
              {"started_at", number_or_null(t.started_at)},
              {"finished_at", t.finished_at > 0 ? number_or_null(t.finished_at) : json(nullptr)},
              {"duration_s", t.finished_at > 0 ? number_or_null(t.duration()) : json(nullptr)},
              {"worker", t.worker}};
  if (!t.error.empty()) out["error"] = t.error;
  if (!t.attrs.empty()) out["attrs"] = t.attrs;
  if (!t.artifacts.empty()) out["artifacts"] = t.artifacts;
  return out;
}

}  // namespace lepton::engine
