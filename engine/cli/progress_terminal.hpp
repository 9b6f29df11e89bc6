// Progress on a terminal: one status line redrawn in place (done / running / pruned / failed,
// best so far, elapsed, ETA), with new bests and failures printed above it as they happen.
#pragma once

#include "cli/progress.hpp"
#include "cli/progress_tracker.hpp"

#include <spdlog/logger.h>

#include <condition_variable>
#include <memory>
#include <mutex>
#include <ostream>
#include <string>
#include <thread>

namespace lepton::cli {

class TerminalProgress final : public ProgressView {
 public:
  /// `width` 0: the terminal's width, asked before each redraw. `tick` redraws once a second so
  /// that elapsed time and ETA move while trials run. While it lives, spdlog messages are printed
  /// above the status line instead of through it.
  TerminalProgress(std::vector<engine::Objective> objectives, std::ostream& err, int width = 0, bool tick = true);
  ~TerminalProgress() override;

  void study_started(const engine::StudyRecord& study, int done, int target, int parallel, int torch_threads) override;
  void trials_recovered(const std::vector<engine::TrialRecord>& failed) override;
  void trial_started(const engine::TrialRecord& trial) override;
  void trial_finished(const engine::TrialRecord& trial) override;
  void study_finished(const engine::StudyRecord& study, const std::vector<engine::TrialRecord>& trials,
                      const std::string& storage) override;
  void notice(const std::string& message) override { print_above(message); }

  /// Prints a whole line above the status line.
  void print_above(const std::string& line);

  /// The status line for a snapshot, at most `width` characters.
  static std::string status_line(const ProgressSnapshot& s, const std::vector<engine::Objective>& objectives,
                                 std::size_t width);

 private:
  void redraw_locked();
  void print_above_locked(const std::string& line);
  void stop_ticking();
  std::size_t width() const;

  std::ostream& err_;
  int fixed_width_;
  std::mutex mutex_;
  ProgressTracker tracker_;
  bool started_ = false, shown_ = false, stopping_ = false;
  std::condition_variable wake_;
  std::thread ticker_;
  std::shared_ptr<spdlog::logger> previous_logger_;
};

}  // namespace lepton::cli
