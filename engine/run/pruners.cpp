// The median and ASHA pruning rules, and their connection to a running study.
#include "run/pruners.hpp"

#include "train/tasks/task.hpp"
#include "experiment/parameters.hpp"

#include <algorithm>
#include <cmath>

namespace lepton::engine {

namespace {

// Whether `a` is strictly worse than `b` in `direction`.
bool worse(double a, double b, Direction direction) { return direction == Direction::kMaximize ? a < b : a > b; }

const TrialView* find_trial(int number, const std::vector<TrialView>& trials) {
  const auto it = std::find_if(trials.begin(), trials.end(), [&](const TrialView& t) { return t.number == number; });
  return it == trials.end() ? nullptr : &*it;
}

}  // namespace

MedianPruner::MedianPruner(const PrunerSpec& spec, Direction direction) : spec_(spec), direction_(direction) {}

bool MedianPruner::should_prune(int number, int epoch, const std::vector<TrialView>& trials) const {
  if (epoch <= spec_.warmup_epochs) return false;
  const TrialView* self = find_trial(number, trials);
  if (!self) return false;
  std::vector<double> others;
  for (const auto& t : trials) {
    if (t.number == number || t.state != TrialState::kComplete) continue;
    const auto it = t.intermediate.find(epoch);
    if (it != t.intermediate.end() && !std::isnan(it->second)) others.push_back(it->second);
  }
  if (static_cast<int>(others.size()) < spec_.min_trials) return false;
  // The trial's best value so far (a NaN report counts as the worst).
  double best = std::nan("");
  for (const auto& [step, value] : self->intermediate) {
    if (step > epoch || std::isnan(value)) continue;
    if (std::isnan(best) || worse(best, value, direction_)) best = value;
  }
  if (std::isnan(best)) return true;
  std::sort(others.begin(), others.end());
  const std::size_t n = others.size();
  const double median = n % 2 ? others[n / 2] : (others[n / 2 - 1] + others[n / 2]) / 2;
  return worse(best, median, direction_);
}

AshaPruner::AshaPruner(const PrunerSpec& spec, Direction direction, int max_epochs)
    : spec_(spec), direction_(direction), max_epochs_(max_epochs) {}

bool AshaPruner::is_rung(int epoch) const {
  if (epoch >= max_epochs_) return false;  // the last epoch ends the trial anyway
  for (long long rung = spec_.min_epochs; rung <= epoch; rung *= spec_.reduction_factor)
    if (rung == epoch) return true;
  return false;
}

bool AshaPruner::should_prune(int number, int epoch, const std::vector<TrialView>& trials) const {
  if (!is_rung(epoch)) return false;
  const TrialView* self = find_trial(number, trials);
  if (!self) return false;
  const auto own = self->intermediate.find(epoch);
  if (own == self->intermediate.end()) return false;
  const double value = own->second;
  if (std::isnan(value)) return true;
  std::vector<double> competing{value};
  for (const auto& t : trials) {
    if (t.number == number) continue;
    const auto it = t.intermediate.find(epoch);
    if (it != t.intermediate.end() && !std::isnan(it->second)) competing.push_back(it->second);
  }
  // Promoted when within the top 1/factor (at least the best one): Optuna's rule.
  const std::size_t promoted = std::max<std::size_t>(1, competing.size() / static_cast<std::size_t>(spec_.reduction_factor));
  std::sort(competing.begin(), competing.end());
  const double threshold = direction_ == Direction::kMaximize ? competing[competing.size() - promoted] : competing[promoted - 1];
  return worse(value, threshold, direction_);
}

std::unique_ptr<Pruner> make_pruner(const PrunerSpec& spec, Direction direction, int max_epochs) {
  if (spec.type == "median") return std::make_unique<MedianPruner>(spec, direction);
  if (spec.type == "asha") return std::make_unique<AshaPruner>(spec, direction, max_epochs);
  return nullptr;
}

std::unique_ptr<Pruner> make_pruner(const Experiment& e) {
  const auto objective = epoch_objective(e.task.objectives);
  if (!objective) return nullptr;
  // The most epochs any trial can run: fixed, else the top of the searched range.
  int max_epochs = task_schema(e.task.type).find("epochs")->default_value.get<int>();
  if (e.task.settings.contains("epochs")) max_epochs = e.task.settings["epochs"].get<int>();
  if (const ParamSpec* spec = e.search.space.find("epochs")) {
    if (spec->numeric()) max_epochs = static_cast<int>(spec->high);
    if (spec->type == ParamType::kFixed) max_epochs = spec->value.get<int>();
    for (const auto& c : spec->choices) max_epochs = std::max(max_epochs, c.get<int>());
  }
  return make_pruner(e.pruner, e.task.objectives[*objective].direction, max_epochs);
}

StudyPruner::StudyPruner(Store& store, std::int64_t study_id, std::unique_ptr<Pruner> pruner)
    : store_(store), study_id_(study_id), pruner_(std::move(pruner)) {}

bool StudyPruner::report(const TrialRecord& trial, int epoch, double value) {
  store_.report(trial.id, epoch, value);
  if (!pruner_) return false;
  std::lock_guard lock(mutex_);
  history_.apply(store_.changed_trials(study_id_, &cursor_));
  return pruner_->should_prune(trial.number, epoch, history_.views());
}

}  // namespace lepton::engine
