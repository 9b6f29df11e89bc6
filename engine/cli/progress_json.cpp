// JSON Lines events. Every object has "event", "time" (Unix seconds) and "study"; trials are in the
// form `lepton trials --json` prints.
#include "cli/progress_json.hpp"

#include "report/ranking.hpp"

#include <algorithm>

namespace lepton::cli {

using namespace lepton::engine;

JsonProgress::JsonProgress(std::vector<Objective> objectives, std::ostream& out)
    : out_(out), tracker_(std::move(objectives)) {}

void JsonProgress::emit_locked(const char* event, json fields) {
  // "event", "time" and "study" lead each line (json objects would sort them among the fields).
  const std::string rest = fields.dump(-1, ' ', false, json::error_handler_t::replace);
  out_ << "{\"event\":" << json(event).dump() << ",\"time\":" << json(unix_now()).dump()
       << ",\"study\":" << json(study_).dump(-1, ' ', false, json::error_handler_t::replace)
       << (rest.size() > 2 ? "," + rest.substr(1) : std::string("}")) << "\n"
       << std::flush;
}

json JsonProgress::progress_locked() const {
  const ProgressSnapshot s = tracker_.snapshot();
  json out = {{"done", s.done},         {"target", s.target}, {"running", s.running},
              {"complete", s.complete}, {"pruned", s.pruned}, {"failed", s.failed},
              {"elapsed_s", s.elapsed}, {"eta_s", s.eta ? json(*s.eta) : json(nullptr)}};
  if (s.best) out["best"] = {{"number", s.best_number}, {"value", *s.best}};
  if (tracker_.objectives().size() > 1) out["pareto_front_size"] = s.front_size;
  return out;
}

void JsonProgress::study_started(const StudyRecord& study, int done, int target, int parallel, int torch_threads) {
  std::lock_guard lock(mutex_);
  study_ = study.name;
  tracker_.study_started(done, target);
  emit_locked("study_started", {{"done", done},
                                {"target", target},
                                {"parallel", parallel},
                                {"torch_threads", torch_threads},
                                {"objectives", objectives_to_json(study.objectives)}});
}

void JsonProgress::trials_recovered(const std::vector<TrialRecord>& failed) {
  std::lock_guard lock(mutex_);
  for (const auto& t : failed) {
    json fields = {{"number", t.number}, {"state", to_string(t.state)}, {"error", t.error}};
    if (t.attrs.contains("retried_as")) fields["retried_as"] = t.attrs["retried_as"];
    emit_locked("trial_recovered", std::move(fields));
  }
}

void JsonProgress::notice(const std::string& message) {
  std::lock_guard lock(mutex_);
  emit_locked("notice", {{"message", message}});
}

void JsonProgress::trial_started(const TrialRecord& trial) {
  std::lock_guard lock(mutex_);
  tracker_.trial_started(trial);
  emit_locked("trial_started", {{"number", trial.number}, {"params", trial.params}, {"seed", trial.seed}});
}

void JsonProgress::trial_finished(const TrialRecord& trial) {
  std::lock_guard lock(mutex_);
  const bool improved = tracker_.trial_finished(trial);
  emit_locked("trial_finished",
              {{"trial", trial_to_json(trial, tracker_.objectives())}, {"improved", improved}, {"progress", progress_locked()}});
}

void JsonProgress::study_finished(const StudyRecord& study, const std::vector<TrialRecord>& trials,
                                  const std::string& storage) {
  std::lock_guard lock(mutex_);
  study_ = study.name;
  json states = json::object();
  for (const auto s : {TrialState::kComplete, TrialState::kPruned, TrialState::kFail, TrialState::kRunning})
    states[to_string(s)] = std::count_if(trials.begin(), trials.end(), [&](const TrialRecord& t) { return t.state == s; });
  const auto best = best_trial(trials, study.objectives);
  emit_locked("study_finished", {{"storage", storage},
                                 {"trials", trials.size()},
                                 {"states", states},
                                 {"best", best ? trial_to_json(*best, study.objectives) : json(nullptr)},
                                 {"progress", progress_locked()}});
}

}  // namespace lepton::cli
