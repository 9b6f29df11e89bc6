// Studies in scratch stores and seed repeats for the transfer benchmarks.
#include "studies.hpp"

#include "report/ranking.hpp"
#include "report/table.hpp"
#include "run/trial_runner.hpp"
#include "experiment/experiment.hpp"
#include "store/artifacts.hpp"

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace lepton::bench {

using namespace lepton::engine;

ScratchStore::ScratchStore() {
  std::string pattern = (std::filesystem::temp_directory_path() / "lepton-bench-XXXXXX").string();
  if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
  folder_ = pattern;
  url_ = "sqlite:///" + folder_ + "/bench.db";
}

ScratchStore::~ScratchStore() {
  std::error_code ec;
  std::filesystem::remove_all(folder_, ec);
}

json experiment_file(const std::string& name) {
  std::ifstream in(std::string(LEPTON_SOURCE_DIR) + "/experiments/" + name);
  if (!in) throw std::runtime_error("cannot read experiments/" + name);
  return json::parse(in);
}

const TrialRecord& StudyOutcome::best() const {
  const TrialRecord* best = nullptr;
  for (const auto& t : trials)
    if (t.state == TrialState::kComplete && !t.values.empty()) {
      const bool better = prepared.experiment.task.objectives[0].direction == Direction::kMaximize
                              ? !best || t.values[0] > best->values[0]
                              : !best || t.values[0] < best->values[0];
      if (better) best = &t;
    }
  if (!best) throw std::runtime_error("no COMPLETE trial in study " + prepared.experiment.name);
  return *best;
}

std::int64_t StudyOutcome::epochs() const {
  std::int64_t total = 0;
  for (const auto& t : trials) total += static_cast<std::int64_t>(t.intermediate.size());
  return total;
}

namespace {
class Quiet final : public ProgressSink {};
}  // namespace

StudyOutcome run_experiment(const Registry& registry, const json& experiment, const ScratchStore& store) {
  Experiment e = parse_experiment(experiment, {std::string(LEPTON_SOURCE_DIR)});
  e.storage = store.url();
  StudyOutcome out;
  out.prepared = prepare_experiment(e, registry);
  out.prepared.artifact_dir = study_artifact_dir(store.url(), e.name);
  auto s = open_store(store.url());
  Quiet quiet;
  const auto start = std::chrono::steady_clock::now();
  const auto summary = run_study(out.prepared, *s, registry, RunOptions{e.search.trials, e.search.parallel}, quiet, e.name);
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  out.trials = s->trials(summary.study.id);
  return out;
}

std::vector<TrialResult> repeat(const PreparedExperiment& prepared, const Registry& registry, const json& params,
                                const std::vector<std::uint64_t>& seeds) {
  PreparedExperiment quiet = prepared;
  quiet.artifact_dir.clear();  // repeats save nothing
  std::vector<TrialResult> out;
  for (const auto seed : seeds) {
    TrialRecord trial;
    trial.seed = seed;
    trial.params = params;
    out.push_back(run_trial(quiet, registry, trial, {}));
    if (out.back().state != TrialState::kComplete) throw std::runtime_error("a repeat failed: " + out.back().error);
  }
  return out;
}

Spread spread(const std::vector<double>& values) {
  Spread s;
  s.min = INFINITY;
  s.max = -INFINITY;
  for (const double v : values) {
    s.mean += v / static_cast<double>(values.size());
    s.min = std::min(s.min, v);
    s.max = std::max(s.max, v);
  }
  for (const double v : values) s.std += std::pow(v - s.mean, 2);
  s.std = values.size() > 1 ? std::sqrt(s.std / static_cast<double>(values.size() - 1)) : 0.0;
  return s;
}

Spread spread(const std::vector<TrialResult>& results, const std::string& metric) {
  std::vector<double> values;
  for (const auto& r : results) values.push_back(r.metrics.at(metric));
  return spread(values);
}

std::string spread_text(const Spread& s) {
  char buffer[96];
  std::snprintf(buffer, sizeof buffer, "%.4f ± %.4f (%.4f-%.4f)", s.mean, s.std, s.min, s.max);
  return buffer;
}

std::string params_text(const json& params) {
  std::string out;
  for (const auto& item : params.items()) out += (out.empty() ? "" : ", ") + item.key() + "=" + format_value(item.value());
  return out;
}

}  // namespace lepton::bench
