// Running a study: bind the experiment to its plugins and data, then keep `parallel` trials going.
#pragma once

#include "plugins/registry.hpp"
#include "run/scoring.hpp"
#include "experiment/experiment.hpp"
#include "store/store.hpp"

#include <lepton/dataset.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>

namespace lepton::engine {

struct TaskResources;

/// An experiment whose plugins, parameters and data have been checked: nothing is written to any
/// store before this succeeds, so bad input never leaves a half-made study behind.
struct PreparedExperiment {
  Experiment experiment;
  std::shared_ptr<const DataSplits> data;
  std::string dataset_plugin, model_plugin, searcher_plugin;
  /// What the task prepared once for all trials: a fine-tuning source, a teacher and its outputs.
  std::shared_ptr<const TaskResources> task;
  /// Where COMPLETE trials save their models (trial-N/ inside); empty: not saved.
  std::string artifact_dir;
  /// The built-in metrics plus the experiment's metric plugins.
  std::shared_ptr<const Scoring> scoring;
};

/// Resolves plugins, checks every parameter against its owner's schema, loads the data and checks
/// the searcher accepts its options. Throws ConfigError naming the JSON path of any problem.
PreparedExperiment prepare_experiment(Experiment experiment, const Registry& registry);

/// What the study stores to be resumed: the experiment document and its data folders.
json study_spec(const Experiment& experiment);
/// The experiment a study was created from.
Experiment experiment_of(const StudyRecord& study);

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
