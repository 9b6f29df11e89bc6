// Counting for the progress views. ETA: the mean time between trial ends in this run times the
// trials left, which already accounts for trials running in parallel.
#include "cli/progress_tracker.hpp"

#include "report/convergence.hpp"
#include "report/pareto.hpp"

#include <algorithm>
#include <cmath>

namespace lepton::cli {

using namespace lepton::engine;

ProgressTracker::ProgressTracker(std::vector<Objective> objectives) : objectives_(std::move(objectives)) {}

void ProgressTracker::study_started(int done, int target) {
  start_ = Clock::now();
  started_with_ = counts_.done = done;
  counts_.target = target;
}

void ProgressTracker::trial_started(const TrialRecord& trial) {
  running_.insert(trial.id);
  counts_.running = static_cast<int>(running_.size());
}

bool ProgressTracker::trial_finished(const TrialRecord& trial) {
  running_.erase(trial.id);
  counts_.running = static_cast<int>(running_.size());
  ++counts_.done;
  if (trial.state == TrialState::kPruned) ++counts_.pruned;
  if (trial.state == TrialState::kFail) ++counts_.failed;
  if (trial.state != TrialState::kComplete) return false;
  ++counts_.complete;
  if (trial.values.size() < objectives_.size() ||
      std::any_of(trial.values.begin(), trial.values.end(), [](double v) { return !std::isfinite(v); }))
    return false;

  bool improved = false;
  if (!counts_.best || better(trial.values[0], *counts_.best, objectives_[0].direction)) {
    counts_.best = trial.values[0];
    counts_.best_number = trial.number;
    improved = true;
  }
  if (objectives_.size() > 1) {
    const auto& v = trial.values;
    if (std::any_of(front_.begin(), front_.end(), [&](const auto& f) { return dominates(f, v, objectives_) || f == v; }))
      return false;
    front_.erase(std::remove_if(front_.begin(), front_.end(), [&](const auto& f) { return dominates(v, f, objectives_); }),
                 front_.end());
    front_.push_back(v);
    counts_.front_size = static_cast<int>(front_.size());
    return true;
  }
  return improved;
}

ProgressSnapshot ProgressTracker::snapshot(Clock::time_point now) const {
  ProgressSnapshot s = counts_;
  s.elapsed = std::chrono::duration<double>(now - start_).count();
  const int finished_here = s.done - started_with_;
  if (finished_here > 0 && s.done < s.target) s.eta = s.elapsed / finished_here * (s.target - s.done);
  if (finished_here > 0 && s.done >= s.target) s.eta = 0.0;
  return s;
}

}  // namespace lepton::cli
