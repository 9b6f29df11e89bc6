// The study's trials as the searcher sees them, kept current from the store's change feed.
#pragma once

#include "store/store.hpp"

#include <unordered_map>
#include <vector>

namespace lepton::engine {

class StudyHistory {
 public:
  /// Applies changed trials (new ones arrive in increasing number order).
  void apply(std::vector<TrialRecord> changed);
  /// Every trial by number, for SearchContext::trials.
  const std::vector<TrialView>& views() const noexcept { return views_; }
  /// Trials that count towards the budget: all but those the engine failed as interrupted or stale.
  int counted() const noexcept { return counted_; }

 private:
  std::vector<TrialView> views_;
  std::vector<bool> counts_;
  std::unordered_map<int, std::size_t> position_;
  int counted_ = 0;
};

}  // namespace lepton::engine
