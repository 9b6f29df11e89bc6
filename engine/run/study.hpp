// Running a prepared study: keep `parallel` trials going, in threads or trial processes, until the
// budget is spent or a stop is asked for.
#pragma once

#include "plugins/registry.hpp"
#include "prepare/prepare.hpp"
#include "store/store.hpp"

#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace lepton::engine {

/// Receives progress from worker threads (implementations must be thread-safe).
class ProgressSink {
 public:
  virtual ~ProgressSink() = default;
  /// `done` trials already count towards `target`.
  virtual void study_started(const StudyRecord& study, int done, int target, int parallel, int torch_threads) {}
  virtual void trials_recovered(const std::vector<TrialRecord>& failed) {}
  virtual void trial_started(const TrialRecord& trial) {}
  virtual void trial_finished(const TrialRecord& trial) {}
  /// Something the user should know about the run as a whole (a stop under way, waiting for other workers).
  virtual void notice(const std::string& message) {}
};

/// How much to run.
struct RunOptions {
  int trials = 0;    ///< the study's total trial budget (finished and running, not counting interrupted ones)
  int parallel = 1;  ///< trials at once
  /// Polled while the study runs; true starts a graceful stop (the CLI passes stop_requested()).
  std::function<bool()> stop_requested{};
  /// Called when a stop's grace period is over, its running trials are recorded as interrupted, and
  /// a trial thread is still inside an epoch (LibTorch cannot interrupt one): the CLI ends the
  /// process, which loses nothing. Without it the run waits for that epoch to end.
  std::function<void()> stuck_after_stop{};
  /// The `lepton` binary that runs trial processes (isolation "process"); default: this program.
  std::string trial_executable{};
};

/// The outcome of one `run`.
struct RunSummary {
  StudyRecord study;
  int started = 0;      ///< trials this run started
  bool stopped = false;  ///< a stop request ended the run before the budget was spent
  int interrupted = 0;   ///< running trials the stop failed as interrupted
};

/// Runs one trial's work given its record and a per-epoch report callback (which returns true when
/// the trial should stop). The default runs the experiment's task (run_trial); benchmarks pass a
/// no-op one to measure the engine alone.
using Evaluator = std::function<TrialResult(const TrialRecord& trial, const std::function<bool(int, double)>& report)>;

/// Opens or creates the study and runs trials until the budget is spent. Running trials left by a
/// dead process are first recorded as FAIL (interrupted). Throws ConfigError when a study of that
/// name exists but was made from a different experiment.
RunSummary run_study(const PreparedExperiment& prepared, Store& store, const Registry& registry,
                     const RunOptions& options, ProgressSink& progress, const std::string& study_name,
                     const Evaluator& evaluator = {});

/// Torch threads per trial so that trials x threads stays within the cores this process may use.
int torch_threads_per_trial(int parallel);

/// Cores available to this process (its CPU affinity).
int available_cores();

}  // namespace lepton::engine
