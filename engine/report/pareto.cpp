// Non-dominated filtering: sorted lexicographically best first, a trial can only be dominated by
// one before it, so each candidate is checked against the front kept so far: O(n x front).
#include "report/pareto.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace lepton::engine {

bool dominates(const std::vector<double>& a, const std::vector<double>& b, const std::vector<Objective>& objectives) {
  bool strictly = false;
  for (std::size_t i = 0; i < objectives.size(); ++i) {
    const bool max = objectives[i].direction == Direction::kMaximize;
    const double x = max ? a[i] : -a[i], y = max ? b[i] : -b[i];
    if (x < y) return false;
    if (x > y) strictly = true;
  }
  return strictly;
}

std::vector<std::size_t> pareto_front(const std::vector<TrialRecord>& trials, const std::vector<Objective>& objectives) {
  std::vector<std::size_t> candidates;
  for (std::size_t i = 0; i < trials.size(); ++i) {
    const TrialRecord& t = trials[i];
    if (t.state != TrialState::kComplete || t.values.size() < objectives.size()) continue;
    if (std::all_of(t.values.begin(), t.values.begin() + static_cast<std::ptrdiff_t>(objectives.size()),
                    [](double v) { return std::isfinite(v); }))
      candidates.push_back(i);
  }
  if (candidates.empty()) return {};
  // Best first on objective 0, ties broken so that a dominating trial always comes first
  // (lexicographic over the remaining objectives).
  auto oriented = [&](std::size_t trial, std::size_t k) {
    const double v = trials[trial].values[k];
    return objectives[k].direction == Direction::kMaximize ? v : -v;
  };
  std::stable_sort(candidates.begin(), candidates.end(), [&](std::size_t a, std::size_t b) {
    for (std::size_t k = 0; k < objectives.size(); ++k)
      if (oriented(a, k) != oriented(b, k)) return oriented(a, k) > oriented(b, k);
    return false;
  });
  std::vector<std::size_t> front;
  for (const std::size_t c : candidates)
    if (std::none_of(front.begin(), front.end(),
                     [&](std::size_t f) { return dominates(trials[f].values, trials[c].values, objectives); }))
      front.push_back(c);
  std::sort(front.begin(), front.end(), [&](std::size_t a, std::size_t b) { return trials[a].number < trials[b].number; });
  return front;
}

}  // namespace lepton::engine
