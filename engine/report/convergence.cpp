// Running best over trial numbers, shared by `lepton report` (history plot) and `lepton compare`.
#include "report/convergence.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace lepton::engine {

double Convergence::best_within(int trial_count) const {
  // numbers are increasing: the last trial below the count carries the running best.
  const auto it = std::lower_bound(numbers.begin(), numbers.end(), trial_count);
  if (it == numbers.begin()) return std::numeric_limits<double>::quiet_NaN();
  return best[static_cast<std::size_t>(it - numbers.begin()) - 1];
}

Convergence convergence(const std::vector<TrialRecord>& trials, std::size_t objective, Direction direction) {
  std::vector<const TrialRecord*> complete;
  for (const auto& t : trials)
    if (t.state == TrialState::kComplete && objective < t.values.size() && std::isfinite(t.values[objective]))
      complete.push_back(&t);
  std::sort(complete.begin(), complete.end(), [](const TrialRecord* a, const TrialRecord* b) { return a->number < b->number; });
  Convergence out;
  for (const TrialRecord* t : complete) {
    const double v = t->values[objective];
    const bool improves = out.best.empty() || better(v, out.best.back(), direction);
    out.numbers.push_back(t->number);
    out.values.push_back(v);
    out.best.push_back(improves ? v : out.best.back());
    out.best_number.push_back(improves ? t->number : out.best_number.back());
  }
  return out;
}

}  // namespace lepton::engine
