// Plain progress lines, safe to call from every worker thread.
#include "cli/progress_printer.hpp"

#include "report/table.hpp"

#include <iostream>
#include <sstream>

namespace lepton::cli {

using namespace lepton::engine;

ProgressPrinter::ProgressPrinter(std::vector<Objective> objectives, bool quiet)
    : objectives_(std::move(objectives)), quiet_(quiet), start_(std::chrono::steady_clock::now()) {}

void ProgressPrinter::study_started(const StudyRecord& study, int done, int target, int parallel, int torch_threads) {
  std::lock_guard lock(mutex_);
  done_ = started_with_ = done;
  target_ = target;
  start_ = std::chrono::steady_clock::now();
  if (quiet_) return;
  std::cerr << "study " << study.name << ": " << done << " of " << target << " trials done";
  if (done < target)
    std::cerr << "; running " << target - done << " more, " << parallel << " at a time (" << torch_threads
              << " torch thread" << (torch_threads > 1 ? "s" : "") << " each)";
  std::cerr << std::endl;
}

void ProgressPrinter::trials_recovered(const std::vector<TrialRecord>& failed) {
  std::lock_guard lock(mutex_);
  for (const auto& t : failed)
    std::cerr << "trial " << t.number << " was left RUNNING by a process that is gone: recorded as FAIL ("
              << t.error << ")" << std::endl;
}

void ProgressPrinter::trial_finished(const TrialRecord& trial) {
  std::lock_guard lock(mutex_);
  ++done_;
  const Objective& objective = objectives_.front();
  if (trial.state == TrialState::kComplete && !trial.values.empty()) {
    const double v = trial.values.front();
    const bool better = !best_ || (objective.direction == Direction::kMaximize ? v > *best_ : v < *best_);
    if (better) {
      best_ = v;
      best_number_ = trial.number;
    }
  }
  if (quiet_) return;
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  std::ostringstream line;
  const int width = static_cast<int>(std::to_string(target_).size());
  line << "[" << std::string(width - std::min<int>(width, std::to_string(done_).size()), ' ') << done_ << "/"
       << target_ << "] trial " << trial.number << " " << to_string(trial.state);
  if (trial.state == TrialState::kComplete && !trial.values.empty())
    line << "  " << objective.metric << "=" << format_number(trial.values.front());
  if (best_) line << "  best=" << format_number(*best_) << " (#" << best_number_ << ")";
  line << "  " << format_duration(trial.duration());
  for (const auto& item : trial.params.items()) line << "  " << item.key() << "=" << format_value(item.value());
  line << "  [" << format_duration(elapsed) << " elapsed";
  const int finished_here = done_ - started_with_;
  if (finished_here > 0 && done_ < target_)
    line << ", ETA " << format_duration(elapsed / finished_here * (target_ - done_));
  line << "]";
  if (!trial.error.empty()) line << "\n        reason: " << trial.error;
  std::cerr << line.str() << std::endl;
}

}  // namespace lepton::cli
