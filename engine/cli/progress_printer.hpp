// Progress as plain lines on stderr (when it is not a terminal): one line per finished trial with
// the best so far, elapsed time and ETA.
#pragma once

#include "cli/progress.hpp"
#include "cli/progress_tracker.hpp"

#include <mutex>
#include <ostream>

namespace lepton::cli {

class ProgressPrinter final : public ProgressView {
 public:
  ProgressPrinter(std::vector<engine::Objective> objectives, std::ostream& err);
  void study_started(const engine::StudyRecord& study, int done, int target, int parallel, int torch_threads) override;
  void trials_recovered(const std::vector<engine::TrialRecord>& failed) override;
  void trial_started(const engine::TrialRecord& trial) override;
  void trial_finished(const engine::TrialRecord& trial) override;
  void notice(const std::string& message) override;

 private:
  std::ostream& err_;
  std::mutex mutex_;
  ProgressTracker tracker_;
};

/// "study NAME: 3 of 20 trials done; running 17 more, 2 at a time (1 torch thread each)"
std::string study_started_text(const engine::StudyRecord& study, int done, int target, int parallel, int torch_threads);
/// "trial 7 was left RUNNING by a process that is gone: recorded as FAIL (interrupted)"
std::string trial_recovered_text(const engine::TrialRecord& trial);
/// "trial 7 COMPLETE  val_accuracy=0.9646" or "trial 8 PRUNED at epoch 3"
std::string trial_outcome_text(const engine::TrialRecord& trial, const std::vector<engine::Objective>& objectives);
/// "412 ms  lr=0.001  hidden=64 ..."
std::string trial_details_text(const engine::TrialRecord& trial);

}  // namespace lepton::cli
