// Objectives and Pareto dominance: orienting values so that smaller is better, non-dominated
// sorting and crowding distance (Deb et al., NSGA-II), for searchers and reports alike.
#pragma once

#include <lepton/export.hpp>
#include <lepton/searcher.hpp>

#include <cstddef>
#include <vector>

namespace lepton {

/// The values with maximized objectives negated, so that smaller is better in every objective.
LEPTON_API std::vector<double> to_minimization(const std::vector<double>& values,
                                               const std::vector<Direction>& directions);

/// Whether `a` dominates `b` (both in minimization form): no worse in every objective and better
/// in at least one. Equal points do not dominate each other.
LEPTON_API bool dominates(const std::vector<double>& a, const std::vector<double>& b);

/// Non-dominated sorting of points in minimization form: front 0 holds the points no other point
/// dominates, front 1 those dominated only by front 0, and so on; each front lists indices in
/// increasing order. Stops once the fronts returned hold at least `max_points` points (0: all).
/// Costs O(n log n) plus O(n x front size) per front.
LEPTON_API std::vector<std::vector<std::size_t>> non_dominated_fronts(const std::vector<std::vector<double>>& points,
                                                                      std::size_t max_points = 0);

/// The crowding distance of each member of `front` (indices into `points`, same order in the
/// result): the sum over objectives of the normalized gap between its neighbours; the extremes of
/// each objective get infinity. Larger means a less crowded, more valuable point.
LEPTON_API std::vector<double> crowding_distance(const std::vector<std::vector<double>>& points,
                                                 const std::vector<std::size_t>& front);

}  // namespace lepton
