// The benchmark's test functions, each with its search space in experiment-file form and its
// known optimum. optuna_peer.py defines the same functions for the Optuna side.
#pragma once

#include <lepton/config.hpp>

#include <functional>
#include <string>
#include <vector>

namespace lepton::bench {

struct Problem {
  std::string name;
  json space;                                  ///< as under "search.space"
  double optimum;                              ///< the global minimum
  std::function<double(const json&)> value;    ///< the function to minimize, of a valid point
  int grid_points;                             ///< search.options.points that gives grid >= 200 points
};

/// Branin (2-D), Hartmann-6, Rosenbrock-10 on [-5, 10]^10, and "mixed": a conditional space of
/// three model families (categorical, log-scaled, integer, stepped and nested parameters).
const std::vector<Problem>& problems();

}  // namespace lepton::bench
