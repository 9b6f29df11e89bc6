// Progress of a running study on stderr: one line per finished trial with the best so far.
#pragma once

#include "run/study.hpp"

#include <chrono>
#include <mutex>
#include <optional>

namespace lepton::cli {

class ProgressPrinter final : public engine::ProgressSink {
 public:
  ProgressPrinter(std::vector<engine::Objective> objectives, bool quiet);
  void study_started(const engine::StudyRecord& study, int done, int target, int parallel, int torch_threads) override;
  void trials_recovered(const std::vector<engine::TrialRecord>& failed) override;
  void trial_finished(const engine::TrialRecord& trial) override;

 private:
  std::vector<engine::Objective> objectives_;
  bool quiet_;
  std::mutex mutex_;
  int done_ = 0, started_with_ = 0, target_ = 0;
  std::optional<double> best_;
  int best_number_ = -1;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace lepton::cli
