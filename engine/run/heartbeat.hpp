// Liveness of trials across processes and hosts: this process's heartbeats, and the check that fails
// (and re-queues) trials whose worker died or went silent.
#pragma once

#include "store/store.hpp"

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

namespace lepton::engine {

/// How often a running trial's heartbeat is refreshed for a given grace period: four beats per
/// grace period, at most every 10 s, so one late beat never makes a trial stale.
std::chrono::milliseconds heartbeat_interval(double grace_seconds);

/// The trials this process runs, kept alive in the store by a heartbeat thread.
class RunningTrials {
 public:
  RunningTrials(Store& store, std::chrono::milliseconds interval);
  ~RunningTrials();
  RunningTrials(const RunningTrials&) = delete;
  RunningTrials& operator=(const RunningTrials&) = delete;

  void add(const TrialRecord& trial);
  void remove(std::int64_t trial_id);
  /// The trials running now.
  std::vector<TrialRecord> snapshot() const;
  bool empty() const;

 private:
  void beat();

  Store& store_;
  std::chrono::milliseconds interval_;
  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::map<std::int64_t, TrialRecord> running_;
  bool stopping_ = false;
  std::thread thread_;
};

/// What to do with a trial whose worker is gone.
struct RecoveryPolicy {
  double grace = 120;   ///< seconds without a heartbeat before a trial of an unreachable worker is stale
  int max_retries = 0;  ///< copies re-queued per original trial
};

/// A trial the engine failed because its worker is gone, with the copy re-queued to run it again.
struct RecoveredTrial {
  TrialRecord trial;                 ///< now FAIL, with the reason
  std::optional<TrialRecord> retry;  ///< the WAITING copy, when retries were left
};

/// The attrs of a retry of `trial` ({"retry_of": number, "retry": k}), or nothing once `max_retries`
/// copies of the original have been made.
std::optional<json> retry_attrs(const TrialRecord& trial, int max_retries);

/// Why a RUNNING trial of another worker counts as abandoned at store time `now`: "interrupted" when
/// its process on this host is gone, "stale: ..." when its heartbeat is older than `grace`; empty
/// while its worker may still be at work.
std::string abandonment_reason(const TrialRecord& trial, double now, double grace);

/// Fails the study's RUNNING trials of other workers that are gone: a process of this host that no
/// longer runs ("interrupted"), or a worker whose heartbeat, in the store's clock, is older than the
/// grace period ("stale: ..."). Each gets a WAITING copy while retries are left. Trials of this
/// process and of live local processes are never touched, except `at_start`: a process that has
/// started no trial yet and finds trials under its own name (LEPTON_WORKER_ID reused after a crash)
/// knows they are orphans. Safe to run from many workers at once: a trial is failed by exactly one.
std::vector<RecoveredTrial> recover_abandoned_trials(Store& store, std::int64_t study_id, const RecoveryPolicy& policy,
                                                     bool at_start = false);

}  // namespace lepton::engine
