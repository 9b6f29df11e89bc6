// The Pareto front of a study through the SDK's non-dominated sorting (lepton/pareto.hpp), the
// same code multi-objective searchers use, after turning every objective into a minimization.
#include "report/pareto.hpp"

#include <lepton/pareto.hpp>

#include <algorithm>
#include <cmath>

namespace lepton::engine {

namespace {
std::vector<double> losses(const std::vector<double>& values, const std::vector<Objective>& objectives) {
  std::vector<Direction> directions;
  for (const auto& o : objectives) directions.push_back(o.direction);
  return to_minimization(std::vector<double>(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(objectives.size())),
                         directions);
}
}  // namespace

bool dominates(const std::vector<double>& a, const std::vector<double>& b, const std::vector<Objective>& objectives) {
  return lepton::dominates(losses(a, objectives), losses(b, objectives));
}

std::vector<std::size_t> pareto_front(const std::vector<TrialRecord>& trials, const std::vector<Objective>& objectives) {
  std::vector<std::size_t> candidates;
  std::vector<std::vector<double>> points;
  for (std::size_t i = 0; i < trials.size(); ++i) {
    const TrialRecord& t = trials[i];
    if (t.state != TrialState::kComplete || t.values.size() < objectives.size()) continue;
    if (!std::all_of(t.values.begin(), t.values.begin() + static_cast<std::ptrdiff_t>(objectives.size()),
                     [](double v) { return std::isfinite(v); }))
      continue;
    candidates.push_back(i);
    points.push_back(losses(t.values, objectives));
  }
  if (candidates.empty()) return {};
  const auto fronts = non_dominated_fronts(points, 1);
  std::vector<std::size_t> front;
  for (const std::size_t j : fronts.front()) front.push_back(candidates[j]);
  std::sort(front.begin(), front.end(), [&](std::size_t a, std::size_t b) { return trials[a].number < trials[b].number; });
  return front;
}

}  // namespace lepton::engine
