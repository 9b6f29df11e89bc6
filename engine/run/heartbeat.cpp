// Heartbeats and the recovery of trials whose worker is gone.
#include "run/heartbeat.hpp"

#include "run/worker_identity.hpp"

#include <algorithm>
#include <cmath>

namespace lepton::engine {

std::chrono::milliseconds heartbeat_interval(double grace_seconds) {
  const double ms = std::clamp(grace_seconds * 1000.0 / 4.0, 50.0, 10'000.0);
  return std::chrono::milliseconds(static_cast<std::int64_t>(ms));
}

RunningTrials::RunningTrials(Store& store, std::chrono::milliseconds interval)
    : store_(store), interval_(interval), thread_([this] { beat(); }) {}

RunningTrials::~RunningTrials() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
}

void RunningTrials::add(const TrialRecord& trial) {
  std::lock_guard lock(mutex_);
  running_[trial.id] = trial;
}

void RunningTrials::remove(std::int64_t trial_id) {
  std::lock_guard lock(mutex_);
  running_.erase(trial_id);
}

std::vector<TrialRecord> RunningTrials::snapshot() const {
  std::lock_guard lock(mutex_);
  std::vector<TrialRecord> out;
  for (const auto& [id, trial] : running_) out.push_back(trial);
  return out;
}

bool RunningTrials::empty() const {
  std::lock_guard lock(mutex_);
  return running_.empty();
}

void RunningTrials::beat() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    wake_.wait_for(lock, interval_, [this] { return stopping_; });
    if (stopping_) break;
    std::vector<std::int64_t> ids;
    for (const auto& [id, trial] : running_) ids.push_back(id);
    lock.unlock();
    try {
      store_.heartbeat(ids);
    } catch (const std::exception&) {
      // A missed beat is harmless: the grace period spans several, and the trial's end will land.
    }
    lock.lock();
  }
}

std::optional<json> retry_attrs(const TrialRecord& trial, int max_retries) {
  const int retry = trial.attrs.is_object() ? trial.attrs.value("retry", 0) : 0;
  if (retry >= max_retries) return std::nullopt;
  return json{{"retry_of", trial.number}, {"retry", retry + 1}};
}

std::string abandonment_reason(const TrialRecord& t, double now, double grace) {
  switch (worker_liveness(t.worker)) {
    case Liveness::kAlive: return "";
    case Liveness::kDead: return kInterruptedReason;
    case Liveness::kUnknown: break;
  }
  const double silent = now - t.heartbeat_at;
  if (!(silent > grace)) return "";
  return std::string(kStaleReason) + ": no heartbeat from worker " + t.worker + " for " +
         std::to_string(std::lround(silent)) + " s (heartbeat_grace is " + std::to_string(std::lround(grace)) + " s)";
}

std::vector<RecoveredTrial> recover_abandoned_trials(Store& store, std::int64_t study_id, const RecoveryPolicy& policy,
                                                     bool at_start) {
  std::vector<RecoveredTrial> out;
  const auto running = store.running_trials(study_id);
  if (running.empty()) return out;
  const double now = store.clock();
  for (const auto& t : running) {
    const bool mine = t.worker == this_worker();
    if (mine && !at_start) continue;
    const std::string reason = mine ? kInterruptedReason : abandonment_reason(t, now, policy.grace);
    if (reason.empty()) continue;
    const Abandoned done = store.abandon_trial(t.id, reason, retry_attrs(t, policy.max_retries));
    if (!done.failed) continue;  // another worker got there first
    RecoveredTrial r{t, done.retry};
    r.trial.state = TrialState::kFail;
    r.trial.error = reason;
    if (done.retry) r.trial.attrs["retried_as"] = done.retry->number;
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace lepton::engine
