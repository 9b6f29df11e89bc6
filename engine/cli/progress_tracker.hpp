// The numbers every progress view shows: trials done / running / pruned / failed, the best so far
// (or the Pareto front's size), elapsed time and ETA. Not thread-safe: views hold their own lock.
#pragma once

#include "experiment/experiment.hpp"
#include "store/store.hpp"

#include <chrono>
#include <optional>
#include <set>
#include <vector>

namespace lepton::cli {

struct ProgressSnapshot {
  int done = 0, target = 0;              ///< trials counting towards the budget, of the budget
  int running = 0;                       ///< started by this process and not finished
  int complete = 0, pruned = 0, failed = 0;  ///< finished in this run
  std::optional<double> best;            ///< first objective's best value in this run
  int best_number = -1;
  int front_size = 0;                    ///< Pareto-front trials in this run (multi-objective)
  double elapsed = 0;                    ///< seconds since the run started
  std::optional<double> eta;             ///< seconds left, once a trial finished in this run
};

class ProgressTracker {
 public:
  using Clock = std::chrono::steady_clock;
  explicit ProgressTracker(std::vector<engine::Objective> objectives);

  void study_started(int done, int target);
  void trial_started(const engine::TrialRecord& trial);
  /// Returns true when the trial improves the best value (or joins the Pareto front).
  bool trial_finished(const engine::TrialRecord& trial);
  ProgressSnapshot snapshot(Clock::time_point now = Clock::now()) const;

  const std::vector<engine::Objective>& objectives() const noexcept { return objectives_; }

 private:
  std::vector<engine::Objective> objectives_;
  Clock::time_point start_ = Clock::now();
  int started_with_ = 0;
  ProgressSnapshot counts_;
  std::set<std::int64_t> running_;
  std::vector<std::vector<double>> front_;
};

}  // namespace lepton::cli
