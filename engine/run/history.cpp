// Incremental history: each proposal costs O(changed trials), not O(all trials).
#include "run/history.hpp"

namespace lepton::engine {

void StudyHistory::apply(std::vector<TrialRecord> changed) {
  for (auto& t : changed) {
    const bool counts = !is_infrastructure_failure(t);
    auto it = position_.find(t.number);
    if (it == position_.end()) {
      position_[t.number] = views_.size();
      views_.push_back(t.view());
      counts_.push_back(counts);
      counted_ += counts ? 1 : 0;
      continue;
    }
    views_[it->second] = t.view();
    counted_ += (counts ? 1 : 0) - (counts_[it->second] ? 1 : 0);
    counts_[it->second] = counts;
  }
}

}  // namespace lepton::engine
