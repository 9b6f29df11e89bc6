// Process isolation: trials in child `lepton __trial` processes, so that a crash, an abort, a hang or
// a leak in a plugin fails that trial alone.
#pragma once

#include "plugins/registry.hpp"
#include "run/trial_runner.hpp"
#include "experiment/execution.hpp"
#include "store/store.hpp"

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
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

class TrialProcess;

/// Trial processes for one study, each started with posix_spawn and talking over pipes. A process
/// prepares the study once (plugins, data, a teacher's outputs) and then runs the trials it is
/// given one at a time: it sends each epoch's value, `report` decides whether it stops (pruning),
/// and it sends the result. A child that dies by a signal, exits without a result, outlives the
/// timeout or outgrows the memory limit gives a FAIL result naming the cause and is replaced. Every
/// child is reaped; none outlives this process (each dies with the thread that started it).
class TrialProcessPool {
 public:
  /// `spec` describes the study (study_spec()).
  TrialProcessPool(json spec, TrialProcessOptions options);
  ~TrialProcessPool();
  TrialProcessPool(const TrialProcessPool&) = delete;
  TrialProcessPool& operator=(const TrialProcessPool&) = delete;

  /// Runs `trial` in this thread's process, starting one when it has none. Thread-safe.
  TrialResult run(const TrialRecord& trial, const EpochReport& report);
  /// How many trial processes it has started.
  int processes_started() const { return started_.load(); }

 private:
  json spec_;
  TrialProcessOptions options_;
  std::mutex mutex_;
  std::map<std::thread::id, std::unique_ptr<TrialProcess>> idle_;
  std::atomic<int> started_{0};
};

/// Runs one trial in a process of its own (a pool of one).
TrialResult run_trial_in_process(const json& spec, const TrialRecord& trial, const EpochReport& report,
                                 const TrialProcessOptions& options);

/// The child's side, behind the hidden `lepton __trial` subcommand (run/trial_child.cpp): prepares
/// the study from fd 3's first request, then runs each trial it reads there with run_trial, writing
/// epoch reports and results to fd 4, until fd 3 closes. Returns the process's exit code.
int serve_trial_process(long parent_pid);

/// The reason a trial fails when it runs past `trial_timeout`.
std::string timeout_reason(double timeout);

/// This process's executable (/proc/self/exe).
std::string self_executable();

}  // namespace lepton::engine
