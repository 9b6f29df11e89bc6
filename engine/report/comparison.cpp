// The analysis behind `lepton compare`.
#include "report/comparison.hpp"

#include "store/trial_order.hpp"

#include <algorithm>
#include <cmath>

namespace lepton::engine {

namespace {

// 1, 2, 5, 10, 20, 50, ... below `most`, then `most` itself.
std::vector<int> checkpoints(int most) {
  std::vector<int> out;
  for (int scale = 1; scale < most; scale *= 10)
    for (const int m : {1, 2, 5})
      if (m * scale < most) out.push_back(m * scale);
  if (most > 0) out.push_back(most);
  return out;
}

json number_or_null(double v) { return std::isfinite(v) ? json(v) : json(nullptr); }

ComparedStudy compared(const StudyRecord& study, std::vector<TrialRecord> trials, const std::string& storage) {
  ComparedStudy side;
  side.study = study;
  side.storage = storage;
  side.trials = std::move(trials);
  const json& e = study.spec.value("experiment", json::object());
  side.searcher = e.contains("search") ? e["search"].value("searcher", "random") : "?";
  for (const auto& t : side.trials) {
    if (t.started_at > 0 && (side.first_start == 0 || t.started_at < side.first_start)) side.first_start = t.started_at;
    side.last_end = std::max(side.last_end, t.finished_at);
  }
  side.top = best_trial(side.trials, study.objectives);
  return side;
}

void add_objective(ComparedStudy& side, std::size_t objective) {
  const Convergence& c =
      side.convergence.emplace_back(convergence(side.trials, objective, side.study.objectives[objective].direction));
  BestFound& b = side.best.emplace_back();
  if (c.empty()) return;
  b.value = c.best.back();
  b.number = c.best_number.back();
  for (const auto& t : side.trials)
    if (t.number == b.number && t.finished_at > 0) b.after_s = t.finished_at - side.first_start;
}

json side_json(const ComparedStudy& s, const std::vector<Objective>& objectives) {
  json bests = json::object();
  for (std::size_t k = 0; k < objectives.size(); ++k) {
    const BestFound& b = s.best[k];
    const json number = b.number < 0 ? json(nullptr) : json(b.number);
    bests[objectives[k].metric] = {{"value", number_or_null(b.value)},
                                   {"number", number},
                                   {"after_trials", b.number < 0 ? json(nullptr) : json(b.number + 1)},
                                   {"after_s", number_or_null(b.after_s)}};
  }
  return json{{"name", s.study.name},
              {"storage", s.storage},
              {"searcher", s.searcher},
              {"trials", s.trials.size()},
              {"states",
               {{"COMPLETE", s.count(TrialState::kComplete)},
                {"PRUNED", s.count(TrialState::kPruned)},
                {"FAIL", s.count(TrialState::kFail)},
                {"RUNNING", s.count(TrialState::kRunning)}}},
              {"elapsed_s", s.last_end > 0 ? number_or_null(s.last_end - s.first_start) : json(nullptr)},
              {"best", bests},
              {"best_params", s.top ? s.top->params : json(nullptr)}};
}

}  // namespace

int ComparedStudy::count(TrialState state) const {
  return static_cast<int>(std::count_if(trials.begin(), trials.end(), [&](const TrialRecord& t) { return t.state == state; }));
}

Comparison compare_studies(const StudyRecord& a, std::vector<TrialRecord> trials_a, const std::string& storage_a,
                           const StudyRecord& b, std::vector<TrialRecord> trials_b, const std::string& storage_b) {
  Comparison out{{}, compared(a, std::move(trials_a), storage_a), compared(b, std::move(trials_b), storage_b), {}};
  for (std::size_t i = 0; i < a.objectives.size(); ++i)
    for (std::size_t j = 0; j < b.objectives.size(); ++j)
      if (a.objectives[i].metric == b.objectives[j].metric && a.objectives[i].direction == b.objectives[j].direction) {
        out.objectives.push_back(a.objectives[i]);
        add_objective(out.a, i);
        add_objective(out.b, j);
      }
  if (out.objectives.empty()) {
    auto list = [](const StudyRecord& s) {
      std::string text;
      for (const auto& o : s.objectives) text += (text.empty() ? "" : ", ") + o.metric + " (" + to_string(o.direction) + ")";
      return text;
    };
    throw ConfigError("STUDY_B", "studies " + a.name + " and " + b.name + " share no objective: " + list(a) + " vs " +
                                     list(b));
  }
  int most = 0;
  for (const auto* side : {&out.a, &out.b})
    for (const auto& t : side->trials) most = std::max(most, t.number + 1);
  out.checkpoints = checkpoints(most);
  return out;
}

json Comparison::to_json() const {
  const json shared = objectives_to_json(objectives);
  json curve = json::array();
  for (const int m : checkpoints) {
    json va = json::object(), vb = json::object();
    for (std::size_t k = 0; k < objectives.size(); ++k) {
      va[objectives[k].metric] = number_or_null(a.convergence[k].best_within(m));
      vb[objectives[k].metric] = number_or_null(b.convergence[k].best_within(m));
    }
    curve.push_back({{"trials", m}, {"a", va}, {"b", vb}});
  }
  return json{{"objectives", shared}, {"a", side_json(a, objectives)}, {"b", side_json(b, objectives)}, {"convergence", curve}};
}

}  // namespace lepton::engine
