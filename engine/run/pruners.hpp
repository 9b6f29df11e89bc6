// Pruners: stop unpromising trials early from the per-epoch values every trial reports.
#pragma once

#include "run/history.hpp"
#include "experiment/experiment.hpp"
#include "store/store.hpp"

#include <lepton/config.hpp>
#include <lepton/searcher.hpp>

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace lepton::engine {

/// A pruning rule: a pure function of the study's trials, so decisions are reproducible.
class Pruner {
 public:
  virtual ~Pruner() = default;
  /// Whether trial `number` should stop after `epoch`, given every trial of the study (its own
  /// intermediate values included, up to `epoch`).
  virtual bool should_prune(int number, int epoch, const std::vector<TrialView>& trials) const = 0;
};

/// Optuna's median rule: after `warmup_epochs`, and once `min_trials` COMPLETE trials have a value
/// at this epoch, a trial stops when its best value so far is
/// worse than the median of those trials' values at this epoch.
class MedianPruner final : public Pruner {
 public:
  MedianPruner(const PrunerSpec& spec, Direction direction);
  bool should_prune(int number, int epoch, const std::vector<TrialView>& trials) const override;

 private:
  PrunerSpec spec_;
  Direction direction_;
};

/// Asynchronous successive halving (ASHA, Li et al. 2020): rungs at min_epochs * factor^i epochs.
/// A trial reaching a rung continues only when its value there ranks in the top 1/factor of all
/// values recorded at that rung so far (its own included; the first trial at a rung always goes
/// on). Between rungs it never stops.
class AshaPruner final : public Pruner {
 public:
  AshaPruner(const PrunerSpec& spec, Direction direction, int max_epochs);
  bool should_prune(int number, int epoch, const std::vector<TrialView>& trials) const override;
  /// Whether `epoch` is a rung.
  bool is_rung(int epoch) const;

 private:
  PrunerSpec spec_;
  Direction direction_;
  int max_epochs_;
};

/// The pruner a spec names, or null for "none". `max_epochs` is the task's epochs.
std::unique_ptr<Pruner> make_pruner(const PrunerSpec& spec, Direction direction, int max_epochs);

/// The experiment's pruner, judging its per-epoch objective (see epoch_objective), or null.
std::unique_ptr<Pruner> make_pruner(const Experiment& e);

/// Connects a pruner to a running study: stores each report, refreshes its view of the other
/// trials from the store's change feed, and decides. Thread-safe: every worker reports through it.
class StudyPruner {
 public:
  /// `pruner` may be null: reports are then only stored.
  StudyPruner(Store& store, std::int64_t study_id, std::unique_ptr<Pruner> pruner);
  /// Stores the value of `trial` at `epoch`; returns true when the trial should stop.
  bool report(const TrialRecord& trial, int epoch, double value);

 private:
  Store& store_;
  std::int64_t study_id_;
  std::unique_ptr<Pruner> pruner_;
  std::mutex mutex_;
  std::int64_t cursor_ = 0;
  StudyHistory history_;
};

}  // namespace lepton::engine
