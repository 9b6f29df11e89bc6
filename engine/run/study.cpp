// The scheduler: `parallel` workers in a TBB arena, each asking the searcher for a trial, training
// it, and telling the store, with heartbeats for the trials in flight.
#include "run/study.hpp"

#include "run/graceful_stop.hpp"
#include "run/heartbeat.hpp"
#include "run/history.hpp"
#include "run/isolation.hpp"
#include "prepare/metric_setup.hpp"
#include "train/blas.hpp"
#include "run/pruners.hpp"
#include "run/trial_runner.hpp"
#include "run/worker_identity.hpp"

#include <sched.h>
#include <tbb/global_control.h>
#include <tbb/task_arena.h>
#include <tbb/task_group.h>
#include <torch/torch.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>

namespace lepton::engine {

namespace {

constexpr std::uint64_t kTrainingStream = 1;
constexpr std::uint64_t kSearcherStream = 2;

}  // namespace

int available_cores() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0) return std::max(1, CPU_COUNT(&set));
  return std::max(1u, std::thread::hardware_concurrency());
}

int torch_threads_per_trial(int parallel) { return std::max(1, available_cores() / std::max(1, parallel)); }

namespace {

class StudyRun {
 public:
  StudyRun(const PreparedExperiment& prepared, Store& store, const Registry& registry, ProgressSink& progress,
           StudyRecord study, const RunOptions& options, Evaluator evaluator)
      : evaluator_(std::move(evaluator)),
        prepared_(prepared),
        e_(prepared.experiment),
        store_(store),
        registry_(registry),
        progress_(progress),
        study_(std::move(study)),
        options_(options) {
    SearcherSetup setup{e_.search.space, {}, e_.search.seed, e_.search.options, store_.study_attr(study_.id, "searcher_state")};
    for (const auto& o : e_.task.objectives) setup.directions.push_back(o.direction);
    searcher_ = registry_.searcher(e_.search.searcher)(setup);
    spec_ = study_spec(e_);
    pruner_ = std::make_unique<StudyPruner>(store_, study_.id, make_pruner(e_));
  }

  RunSummary run() {
    recover(/*at_start=*/true);
    history_.apply(store_.changed_trials(study_.id, &cursor_));
    const int threads = torch_threads_per_trial(options_.parallel);
    progress_.study_started(study_, history_.counted(), options_.trials, options_.parallel, threads);
    if (e_.execution.isolation == Isolation::kProcess) {
      TrialProcessOptions options = isolation_options(e_.execution, registry_, options_.trial_executable);
      options.storage = e_.storage;
      options.artifact_dir = prepared_.artifact_dir;
      options.torch_threads = threads;
      options.abandon = [this] { return stop_->abandoning(); };
      processes_.emplace(spec_, std::move(options));
    }

    RunningTrials running(store_, heartbeat_interval(e_.execution.heartbeat_grace));
    GracefulStop stop(options_.stop_requested, options_.stuck_after_stop, e_.execution.stop_grace, store_, running,
                      e_.execution.max_retries, progress_, "lepton resume --storage " + store_.url() + " --study " + study_.name);
    running_ = &running;
    stop_ = &stop;
    {
      // Allow `parallel` threads even beyond the core count (TBB caps workers at cores - 1 otherwise).
      tbb::global_control width(tbb::global_control::max_allowed_parallelism,
                                static_cast<std::size_t>(std::max(options_.parallel, available_cores())));
      tbb::task_arena arena(options_.parallel);
      arena.execute([&] {
        tbb::task_group group;
        for (int w = 0; w < options_.parallel; ++w) group.run([&] { worker_loop(threads); });
        group.wait();
      });
    }
    processes_.reset();  // the idle trial processes exit
    stop.finish();
    RunSummary summary;
    summary.started = started_.load();
    summary.stopped = stop.stopping();
    summary.interrupted = stop.interrupted();
    return summary;
  }

 private:
  void worker_loop(int threads) {
    at::set_num_threads(threads);
    set_blas_threads(1);  // as the serial build: results must not depend on how many trials run at once
    while (!failed_.load() && !stop_->stopping()) {
      std::optional<TrialRecord> trial;
      try {
        trial = ask();
        if (!trial) {
          if (others_still_running()) continue;
          return;
        }
      } catch (...) {
        failed_ = true;  // the store failed: let the other workers finish their trial and stop
        throw;
      }
      ++started_;
      if (trial->state == TrialState::kFail) {  // the searcher could not propose
        progress_.trial_finished(*trial);
        continue;
      }
      progress_.trial_started(*trial);
      TrialResult result = evaluate(*trial);
      try {
        store_.finish_trial(trial->id, result);
      } catch (...) {
        running_->remove(trial->id);
        failed_ = true;
        throw;
      }
      running_->remove(trial->id);
      trial->state = result.state;
      trial->values = result.values;
      trial->metrics = result.metrics;
      trial->error = result.error;
      trial->attrs = result.attrs;
      trial->finished_at = unix_now();
      progress_.trial_finished(*trial);
    }
  }

  std::optional<TrialRecord> ask() {
    std::lock_guard lock(ask_mutex_);
    if (stop_->stopping()) return std::nullopt;
    recover(/*at_start=*/false);
    auto trial = store_.start_trial(
        study_.id, &cursor_, this_worker(),
        [&](int number, std::vector<TrialRecord> changed) -> std::optional<Proposal> {
          history_.apply(std::move(changed));
          if (history_.counted() >= options_.trials || stop_->stopping()) return std::nullopt;
          Proposal proposal;
          proposal.seed = derive_seed(e_.search.seed, static_cast<std::uint64_t>(number), kTrainingStream);
          SearchContext context;
          context.trial_number = number;
          context.seed = derive_seed(e_.search.seed, static_cast<std::uint64_t>(number), kSearcherStream);
          context.trials = &history_.views();
          try {
            proposal.params = searcher_->suggest(context);
            if (auto why = e_.search.space.check(proposal.params))
              proposal.error = "searcher " + prepared_.searcher_plugin + " proposed an invalid point: " + *why;
          } catch (const std::exception& ex) {
            proposal.error = "searcher " + prepared_.searcher_plugin + ": " + ex.what();
          }
          if (!proposal.error.empty()) proposal.params = json::object();
          return proposal;
        });
    if (trial) {
      if (trial->state == TrialState::kRunning) running_->add(*trial);  // heartbeats from now on
      const json state = searcher_->state();
      if (!state.is_null()) store_.set_study_attr(study_.id, "searcher_state", state);
    }
    return trial;
  }

  TrialResult evaluate(const TrialRecord& trial) {
    const auto started = std::chrono::steady_clock::now();
    const double timeout = e_.execution.trial_timeout;
    const EpochReport report = [&](int epoch, double value) {
      // A thread cannot be stopped mid-epoch; these checks end it at the next epoch.
      if (stop_->abandoning()) throw std::runtime_error(kInterruptedReason);
      if (timeout > 0 && std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count() > timeout)
        throw std::runtime_error(timeout_reason(timeout));
      return pruner_->report(trial, epoch, value);
    };
    if (evaluator_) {
      try {
        return evaluator_(trial, report);
      } catch (const std::exception& e) {
        return TrialResult{TrialState::kFail, {}, {}, e.what(), json::object()};
      }
    }
    if (e_.execution.isolation == Isolation::kProcess) {
      return processes_->run(trial, report);
    }
    return run_trial(prepared_, registry_, trial, report);
  }

  // Trials whose worker is gone are failed (and re-queued when retries are left) before any new work.
  void recover(bool at_start) {
    const auto recovered = recover_abandoned_trials(
        store_, study_.id, {e_.execution.heartbeat_grace, e_.execution.max_retries}, at_start);
    if (recovered.empty()) return;
    std::vector<TrialRecord> failed;
    for (const auto& r : recovered) failed.push_back(r.trial);
    progress_.trials_recovered(failed);
  }

  // With the budget spent, a worker stays while other workers' trials run: one may go stale and be
  // retried (or free its slot). Returns false when there is nothing left to wait for.
  bool others_still_running() {
    int others = 0;
    for (const auto& t : store_.running_trials(study_.id)) others += t.worker != this_worker() ? 1 : 0;
    if (others == 0 || stop_->stopping()) return false;
    if (!waiting_noted_.exchange(true))
      progress_.notice("budget reached; waiting for " + std::to_string(others) +
                       " trial(s) running on other workers (retried here if their worker dies)");
    std::this_thread::sleep_for(std::min<std::chrono::milliseconds>(heartbeat_interval(e_.execution.heartbeat_grace),
                                                                     std::chrono::milliseconds(250)));
    return true;
  }

  Evaluator evaluator_;
  const PreparedExperiment& prepared_;
  const Experiment& e_;
  Store& store_;
  const Registry& registry_;
  ProgressSink& progress_;
  StudyRecord study_;
  RunOptions options_;
  std::unique_ptr<Searcher> searcher_;
  std::unique_ptr<StudyPruner> pruner_;
  StudyHistory history_;
  std::int64_t cursor_ = 0;
  std::mutex ask_mutex_;
  std::atomic<int> started_{0};
  std::atomic<bool> failed_{false};
  std::atomic<bool> waiting_noted_{false};
  RunningTrials* running_ = nullptr;
  GracefulStop* stop_ = nullptr;
  json spec_;
  std::optional<TrialProcessPool> processes_;  ///< with isolation "process"
};

}  // namespace

RunSummary run_study(const PreparedExperiment& prepared, Store& store, const Registry& registry,
                     const RunOptions& options, ProgressSink& progress, const std::string& study_name,
                     const Evaluator& evaluator) {
  const Experiment& e = prepared.experiment;
  check_execution(e.execution);
  bool created = false;
  StudyRecord study = store.create_study(study_name, e.task.objectives, study_spec(e), &created);
  if (!created) {
    const std::string differs = first_difference(experiment_of(study), e);
    if (!differs.empty())
      throw ConfigError(differs, "study \"" + study_name + "\" in " + store.url() +
                                     " was created from a different experiment (" + differs +
                                     " differs); pass --study NEW_NAME to start a new study, or "
                                     "`lepton resume` to continue this one as it was");
  }
  store.set_study_attr(study.id, "trials", options.trials);
  if (prepared.scoring && !prepared.scoring->plugins().empty())
    store.set_study_attr(study.id, "metric_directions", metric_directions(*prepared.scoring));
  StudyRun run(prepared, store, registry, progress, study, options, evaluator);
  RunSummary summary = run.run();
  summary.study = std::move(study);
  return summary;
}

}  // namespace lepton::engine
