// Trials grouped by a parameter's value and the groups ranked by their best trial.
#include "report/grouping.hpp"

#include "report/table.hpp"

#include <algorithm>
#include <cmath>
#include <iterator>
#include <limits>
#include <ostream>
#include <set>

namespace lepton::engine {

namespace {

std::string params_text(const json& params, const std::string& skip) {
  std::string out;
  for (const auto& item : params.items())
    if (item.key() != skip) out += (out.empty() ? "" : " ") + item.key() + "=" + format_value(item.value());
  return out;
}

}  // namespace

std::vector<TrialGroup> group_trials(const std::vector<TrialRecord>& trials, const std::string& param,
                                     const SortKey& key) {
  std::vector<TrialGroup> groups;
  std::vector<std::vector<TrialRecord>> members;
  std::set<std::string> names;
  bool found = false;
  for (const auto& t : trials) {
    for (const auto& item : t.params.items()) names.insert(item.key());
    const json value = t.params.is_object() && t.params.contains(param) ? t.params.at(param) : json(nullptr);
    found = found || !value.is_null();
    auto it = std::find_if(groups.begin(), groups.end(), [&](const TrialGroup& g) { return g.value == value; });
    if (it == groups.end()) {
      groups.push_back(TrialGroup{value});
      members.emplace_back();
      it = std::prev(groups.end());
    }
    members[static_cast<std::size_t>(it - groups.begin())].push_back(t);
  }
  if (!found) {
    std::string known;
    for (const auto& n : names) known += (known.empty() ? "" : ", ") + n;
    throw ConfigError("--group-by", "no trial has a parameter \"" + param + "\"; the trials have " +
                                        (known.empty() ? std::string("no parameters") : known));
  }
  for (std::size_t i = 0; i < groups.size(); ++i) {
    TrialGroup& g = groups[i];
    g.trials = static_cast<int>(members[i].size());
    double sum = 0;
    for (const auto& t : members[i]) {
      g.complete += t.state == TrialState::kComplete;
      g.pruned += t.state == TrialState::kPruned;
      g.failed += t.state == TrialState::kFail;
    }
    const auto ranked = rank(members[i], key);
    for (const auto& t : ranked) sum += sort_value(t, key);
    const double nan = std::numeric_limits<double>::quiet_NaN();
    g.mean = ranked.empty() ? nan : sum / static_cast<double>(ranked.size());
    g.best_value = ranked.empty() ? nan : sort_value(ranked.front(), key);
    if (!ranked.empty()) g.best = ranked.front();
  }
  // Groups in the order of their best trials (rank() orders by the key and its direction).
  std::vector<TrialRecord> bests;
  for (const auto& g : groups)
    if (g.best) bests.push_back(*g.best);
  const auto order = rank(bests, key);
  auto position = [&](const TrialGroup& g) {
    if (!g.best) return order.size();
    const auto it = std::find_if(order.begin(), order.end(), [&](const TrialRecord& t) { return t.number == g.best->number; });
    return static_cast<std::size_t>(it - order.begin());
  };
  std::stable_sort(groups.begin(), groups.end(),
                   [&](const TrialGroup& a, const TrialGroup& b) { return position(a) < position(b); });
  return groups;
}

void print_groups(const std::vector<TrialGroup>& groups, const std::string& param, const std::string& key_name,
                  std::ostream& out) {
  TextTable table({"rank", param, "trials", "complete", "pruned", "failed", "best " + key_name, "mean " + key_name,
                   "best trial", "its parameters"});
  int rank_number = 0;
  for (const auto& g : groups) {
    table.add_row({g.best ? std::to_string(++rank_number) : "-", g.value.is_null() ? "(unset)" : format_value(g.value),
                   std::to_string(g.trials), std::to_string(g.complete), std::to_string(g.pruned),
                   std::to_string(g.failed), format_number(g.best_value),
                   format_number(g.mean), g.best ? "#" + std::to_string(g.best->number) : "-",
                   g.best ? params_text(g.best->params, param) : ""});
  }
  table.print(out);
}

json groups_to_json(const std::vector<TrialGroup>& groups, const std::string& param,
                    const std::vector<Objective>& objectives) {
  json out = json::array();
  for (const auto& g : groups) {
    out.push_back({{param, g.value},
                   {"trials", g.trials},
                   {"complete", g.complete},
                   {"pruned", g.pruned},
                   {"failed", g.failed},
                   {"best_value", std::isfinite(g.best_value) ? json(g.best_value) : json(nullptr)},
                   {"mean", std::isfinite(g.mean) ? json(g.mean) : json(nullptr)},
                   {"best", g.best ? trial_to_json(*g.best, objectives) : json(nullptr)}});
  }
  return out;
}

}  // namespace lepton::engine
