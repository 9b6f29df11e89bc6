// The stop watcher: polls the request, then the running trials, against the grace period.
#include "run/graceful_stop.hpp"

#include <cstdio>

namespace lepton::engine {

namespace {

constexpr auto kPoll = std::chrono::milliseconds(50);
// After the grace period the trials are failed in the store; threads still stuck in an epoch get
// this long to notice before the caller may end the process without them (nothing is left to save).
constexpr auto kAbandonWait = std::chrono::seconds(5);

std::string seconds_text(double s) {
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%g s", s);
  return buffer;
}

}  // namespace

GracefulStop::GracefulStop(std::function<bool()> requested, std::function<void()> stuck, double grace, Store& store,
                           RunningTrials& running, int max_retries, ProgressSink& progress, std::string resume_hint)
    : requested_(std::move(requested)),
      stuck_(std::move(stuck)),
      grace_(grace),
      store_(store),
      running_(running),
      max_retries_(max_retries),
      progress_(progress),
      resume_hint_(std::move(resume_hint)) {
  if (requested_) thread_ = std::thread([this] { watch(); });
}

GracefulStop::~GracefulStop() {
  finish();
  if (thread_.joinable()) thread_.join();
}

void GracefulStop::finish() {
  {
    std::lock_guard lock(mutex_);
    finished_ = true;
  }
  wake_.notify_all();
}

bool GracefulStop::wait_until_finished(std::chrono::steady_clock::time_point deadline) {
  std::unique_lock lock(mutex_);
  wake_.wait_until(lock, deadline, [this] { return finished_; });
  return finished_;
}

void GracefulStop::watch() {
  {
    std::unique_lock lock(mutex_);
    while (!finished_ && !requested_()) wake_.wait_for(lock, kPoll);
    if (finished_) return;
  }
  stopping_ = true;
  const auto running = running_.snapshot();
  progress_.notice("stopping: no new trials" +
                   (running.empty() ? std::string()
                                    : "; waiting up to " + seconds_text(grace_) + " for " +
                                          std::to_string(running.size()) + " running trial(s) to end") +
                   " (press Ctrl-C again to stop at once)");
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                                                               std::chrono::duration<double>(grace_));
  if (wait_until_finished(deadline)) return;
  abandon_running();
  if (wait_until_finished(std::chrono::steady_clock::now() + kAbandonWait)) return;
  // A trial thread is stuck inside an epoch and cannot be interrupted; its trial is already
  // recorded FAIL (interrupted), so ending the process loses nothing.
  progress_.notice("stopped: " + std::to_string(interrupted_.load()) + " trial(s) recorded as FAIL (interrupted); " +
                   "continue with: " + resume_hint_);
  if (stuck_) stuck_();
}

void GracefulStop::abandon_running() {
  for (const auto& t : running_.snapshot()) {
    try {
      if (store_.abandon_trial(t.id, kInterruptedReason, retry_attrs(t, max_retries_)).failed) ++interrupted_;
    } catch (const std::exception& e) {
      progress_.notice(std::string("could not record trial ") + std::to_string(t.number) +
                       " as interrupted: " + e.what() + "; the next run will");
    }
  }
  abandoning_ = true;
  if (interrupted_ > 0)
    progress_.notice("grace period over: " + std::to_string(interrupted_.load()) +
                     " running trial(s) recorded as FAIL (interrupted)");
}

}  // namespace lepton::engine
