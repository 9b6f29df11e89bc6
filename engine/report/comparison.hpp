// Two studies side by side: the objectives they share, each one's best value and when it was
// found, the best value within the first N trials, and the best trials. What `lepton compare` shows.
#pragma once

#include "report/convergence.hpp"
#include "store/store.hpp"

#include <limits>
#include <optional>
#include <string>
#include <vector>

namespace lepton::engine {

/// When a study found its best value for one objective.
struct BestFound {
  double value = std::numeric_limits<double>::quiet_NaN();
  int number = -1;  ///< the trial; -1 when no trial completed
  double after_s = std::numeric_limits<double>::quiet_NaN();  ///< from the study's first start to that trial's end
};

/// One study of a comparison.
struct ComparedStudy {
  StudyRecord study;
  std::string storage;   ///< its store's URL
  std::string searcher;  ///< from the stored experiment
  std::vector<TrialRecord> trials;
  double first_start = 0, last_end = 0;  ///< Unix seconds; 0 when no trial started or ended
  std::vector<Convergence> convergence;  ///< one per shared objective
  std::vector<BestFound> best;           ///< one per shared objective
  std::optional<TrialRecord> top;        ///< its best trial by its own first objective

  int count(TrialState state) const;
};

struct Comparison {
  std::vector<Objective> objectives;  ///< those both studies have (same metric and direction), in A's order
  ComparedStudy a, b;
  std::vector<int> checkpoints;  ///< N for "the best within the first N trials": 1, 2, 5, 10, ..., all

  /// {"objectives", "a", "b", "convergence"}: what `lepton compare --json` prints.
  json to_json() const;
};

/// Compares study `a` (its trials, in the store at `storage_a`) with `b`. Throws ConfigError at
/// "STUDY_B" when the two share no objective.
Comparison compare_studies(const StudyRecord& a, std::vector<TrialRecord> trials_a, const std::string& storage_a,
                           const StudyRecord& b, std::vector<TrialRecord> trials_b, const std::string& storage_b);

}  // namespace lepton::engine
