// Pareto dominance, non-dominated sorting by peeling fronts in lexicographic order, and crowding.
#include <lepton/pareto.hpp>

#include <algorithm>
#include <limits>
#include <numeric>

namespace lepton {

std::vector<double> to_minimization(const std::vector<double>& values, const std::vector<Direction>& directions) {
  std::vector<double> out(values);
  for (std::size_t i = 0; i < out.size() && i < directions.size(); ++i)
    if (directions[i] == Direction::kMaximize) out[i] = -out[i];
  return out;
}

bool dominates(const std::vector<double>& a, const std::vector<double>& b) {
  bool better = false;
  for (std::size_t i = 0; i < a.size() && i < b.size(); ++i) {
    if (a[i] > b[i]) return false;
    if (a[i] < b[i]) better = true;
  }
  return better;
}

std::vector<std::vector<std::size_t>> non_dominated_fronts(const std::vector<std::vector<double>>& points,
                                                           std::size_t max_points) {
  // In lexicographic order a point can only be dominated by points before it, and whoever
  // dominates it is itself in an earlier front or dominated by a member of the current one: so
  // each point needs checking only against the current front's members found so far.
  std::vector<std::size_t> remaining(points.size());
  std::iota(remaining.begin(), remaining.end(), std::size_t{0});
  std::stable_sort(remaining.begin(), remaining.end(),
                   [&](std::size_t a, std::size_t b) { return points[a] < points[b]; });
  if (max_points == 0) max_points = points.size();
  std::vector<std::vector<std::size_t>> fronts;
  std::size_t taken = 0;
  while (!remaining.empty() && taken < max_points) {
    std::vector<std::size_t> front, rest;
    for (const std::size_t p : remaining) {
      const bool dominated =
          std::any_of(front.begin(), front.end(), [&](std::size_t f) { return dominates(points[f], points[p]); });
      (dominated ? rest : front).push_back(p);
    }
    taken += front.size();
    std::sort(front.begin(), front.end());
    fronts.push_back(std::move(front));
    remaining = std::move(rest);
  }
  return fronts;
}

std::vector<double> crowding_distance(const std::vector<std::vector<double>>& points,
                                      const std::vector<std::size_t>& front) {
  const std::size_t n = front.size();
  std::vector<double> distance(n, 0.0);
  if (n == 0) return distance;
  const double inf = std::numeric_limits<double>::infinity();
  const std::size_t objectives = points[front[0]].size();
  std::vector<std::size_t> order(n);
  for (std::size_t k = 0; k < objectives; ++k) {
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::stable_sort(order.begin(), order.end(),
                     [&](std::size_t a, std::size_t b) { return points[front[a]][k] < points[front[b]][k]; });
    const double lo = points[front[order.front()]][k], hi = points[front[order.back()]][k];
    distance[order.front()] = distance[order.back()] = inf;
    if (!(hi > lo)) continue;
    for (std::size_t i = 1; i + 1 < n; ++i)
      distance[order[i]] += (points[front[order[i + 1]]][k] - points[front[order[i - 1]]][k]) / (hi - lo);
  }
  return distance;
}

}  // namespace lepton
