// Convergence of a study: each COMPLETE trial's value beside the best value found up to it.
#pragma once

#include "experiment/experiment.hpp"
#include "store/store.hpp"

#include <cstddef>
#include <vector>

namespace lepton::engine {

/// COMPLETE trials with a finite value for one objective, by trial number, with the running best.
struct Convergence {
  std::vector<int> numbers;         ///< trial numbers, increasing
  std::vector<double> values;       ///< each trial's value
  std::vector<double> best;         ///< the best value among this trial and those before it
  std::vector<int> best_number;     ///< which trial holds best[i]

  bool empty() const noexcept { return numbers.empty(); }
  /// The best value among trials numbered below `trial_count`, or NaN when none completed yet.
  double best_within(int trial_count) const;
};

Convergence convergence(const std::vector<TrialRecord>& trials, std::size_t objective, Direction direction);

/// Whether `a` is better than `b` in `direction` (NaN is never better).
inline bool better(double a, double b, Direction direction) {
  return direction == Direction::kMaximize ? a > b : a < b;
}

}  // namespace lepton::engine
