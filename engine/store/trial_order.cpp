// Ranking trials by an objective or a metric.
#include "store/trial_order.hpp"

#include <algorithm>
#include <cmath>

namespace lepton::engine {

double sort_value(const TrialRecord& trial, const SortKey& key) {
  if (key.metric.empty())
    return key.objective < trial.values.size() ? trial.values[key.objective] : std::nan("");
  const auto it = trial.metrics.find(key.metric);
  return it == trial.metrics.end() ? std::nan("") : it->second;
}

std::vector<TrialRecord> rank(const std::vector<TrialRecord>& trials, const SortKey& key) {
  std::vector<TrialRecord> out;
  for (const auto& t : trials)
    if (t.state == TrialState::kComplete && !std::isnan(sort_value(t, key))) out.push_back(t);
  std::stable_sort(out.begin(), out.end(), [&](const TrialRecord& a, const TrialRecord& b) {
    const double va = sort_value(a, key), vb = sort_value(b, key);
    if (va != vb) return key.direction == Direction::kMaximize ? va > vb : va < vb;
    return a.number < b.number;
  });
  return out;
}

std::optional<TrialRecord> best_trial(const std::vector<TrialRecord>& trials, const std::vector<Objective>& objectives) {
  SortKey key;
  key.direction = objectives.at(0).direction;
  auto ranked = rank(trials, key);
  if (ranked.empty()) return std::nullopt;
  return ranked.front();
}

}  // namespace lepton::engine
