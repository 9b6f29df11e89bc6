// Process isolation: a trial in a child `lepton __trial` process, so that a crash, an abort, a hang or
// a leak in a plugin fails that trial alone.
#pragma once

#include "plugins/registry.hpp"
#include "run/trial_runner.hpp"
#include "experiment/execution.hpp"
#include "store/store.hpp"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace lepton::engine {

/// How a trial process is started and bounded.
struct TrialProcessOptions {
  std::string executable;                   ///< the `lepton` binary, which serves `lepton __trial`
  std::vector<std::string> plugin_folders;  ///< where the parent found its plugins; the child loads the same
  int torch_threads = 1;
  std::string storage;                      ///< the study's store: where a finetune source or teacher named by study is found
  std::string artifact_dir;                 ///< where the child saves a COMPLETE trial's model; empty: not saved
  double timeout = 0;                       ///< seconds from start; 0: none
  std::int64_t memory_limit = 0;            ///< resident bytes of the child; 0: none
  /// Polled while the child runs; true kills it at once (the trial was already failed elsewhere).
  std::function<bool()> abandon;
};

/// The options for trial processes: the experiment's limits, the folders of the plugins `registry`
/// loaded, and `executable` (default: this program).
TrialProcessOptions isolation_options(const ExecutionSection& execution, const Registry& registry,
                                      const std::string& executable);

/// Runs `trial` of the study described by `spec` (study_spec()) in a child process started with
/// posix_spawn, talking over pipes: the child sends each epoch's value, `report` decides whether it
/// stops (pruning), and the child sends its result. A child that dies by a signal, exits without a
/// result, outlives the timeout or outgrows the memory limit gives a FAIL result naming the cause.
/// The child is always reaped; it never outlives this process (it dies with it).
TrialResult run_trial_in_process(const json& spec, const TrialRecord& trial, const EpochReport& report,
                                 const TrialProcessOptions& options);

/// The child's side, behind the hidden `lepton __trial` subcommand: reads the request from fd 3,
/// runs the trial in this process with run_trial, writes epoch reports and the result to fd 4.
/// Returns the process's exit code.
int serve_trial_process(long parent_pid);

/// The reason a trial fails when it runs past `trial_timeout`.
std::string timeout_reason(double timeout);

/// This process's executable (/proc/self/exe).
std::string self_executable();

}  // namespace lepton::engine
