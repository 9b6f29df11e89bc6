// Progress for scripts (--json): one JSON object per line on stdout, one per event:
// study_started, trial_recovered, trial_started, trial_finished and study_finished.
#pragma once

#include "cli/progress.hpp"
#include "cli/progress_tracker.hpp"

#include <mutex>
#include <ostream>

namespace lepton::cli {

class JsonProgress final : public ProgressView {
 public:
  JsonProgress(std::vector<engine::Objective> objectives, std::ostream& out);
  void study_started(const engine::StudyRecord& study, int done, int target, int parallel, int torch_threads) override;
  void trials_recovered(const std::vector<engine::TrialRecord>& failed) override;
  void trial_started(const engine::TrialRecord& trial) override;
  void trial_finished(const engine::TrialRecord& trial) override;
  void study_finished(const engine::StudyRecord& study, const std::vector<engine::TrialRecord>& trials,
                      const std::string& storage) override;
  void notice(const std::string& message) override;

 private:
  void emit_locked(const char* event, json fields);
  json progress_locked() const;

  std::ostream& out_;
  std::mutex mutex_;
  ProgressTracker tracker_;
  std::string study_;
};

}  // namespace lepton::cli
