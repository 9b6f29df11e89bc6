// A study's wind-down after Ctrl-C or SIGTERM: no new trials; running ones get a grace period to end,
// then are failed as interrupted (re-queued when retries are allowed) and abandoned.
#pragma once

#include "run/heartbeat.hpp"
#include "run/study.hpp"
#include "store/store.hpp"

#include <atomic>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace lepton::engine {

class GracefulStop {
 public:
  /// Watches `requested` from a thread of its own. `resume_hint` is the command that continues the
  /// study; `stuck` runs when trials are still running after the grace period and their abandonment.
  GracefulStop(std::function<bool()> requested, std::function<void()> stuck, double grace, Store& store,
               RunningTrials& running, int max_retries, ProgressSink& progress, std::string resume_hint);
  ~GracefulStop();
  GracefulStop(const GracefulStop&) = delete;
  GracefulStop& operator=(const GracefulStop&) = delete;

  /// True once a stop was requested: workers start no new trial.
  bool stopping() const { return stopping_.load(); }
  /// True once the grace period ran out: the running trials are already failed as interrupted
  /// and must end now (a thread at its next epoch, a trial process at once).
  bool abandoning() const { return abandoning_.load(); }
  /// How many trials the grace period's end failed as interrupted.
  int interrupted() const { return interrupted_.load(); }
  /// Says the workers have returned; ends the watcher.
  void finish();

 private:
  void watch();
  bool wait_until_finished(std::chrono::steady_clock::time_point deadline);
  void abandon_running();

  std::function<bool()> requested_;
  std::function<void()> stuck_;
  double grace_;
  Store& store_;
  RunningTrials& running_;
  int max_retries_;
  ProgressSink& progress_;
  std::string resume_hint_;
  std::atomic<bool> stopping_{false}, abandoning_{false};
  std::atomic<int> interrupted_{0};
  std::mutex mutex_;
  std::condition_variable wake_;
  bool finished_ = false;
  std::thread thread_;
};

}  // namespace lepton::engine
