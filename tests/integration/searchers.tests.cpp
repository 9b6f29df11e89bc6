// The searcher plugins in real studies: each runs end to end through the `lepton` binary, a
// resumed study proposes exactly what an uninterrupted one does (real engine, real SQLite store),
// and a multi-objective study reports its Pareto front.
#include "plugins/registry.hpp"
#include "run/study.hpp"
#include "experiment/experiment.hpp"
#include "store/store.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

#include <lepton/pareto.hpp>

#include <catch2/catch.hpp>

#include <cmath>

using lepton::json;
using lepton::TrialState;
using lepton::test::run_lepton;
using lepton::test::TempDir;
using namespace lepton::engine;

namespace {

// Small but real settings: each strategy gets past its random start within a dozen trials.
json options_for(const std::string& searcher) {
  if (searcher == "tpe") return {{"n_startup_trials", 4}};
  if (searcher == "gp") return {{"n_startup_trials", 4}, {"n_candidates", 300}};
  if (searcher == "cmaes") return {{"popsize", 4}};
  if (searcher == "evolution") return {{"population", 4}, {"tournament", 2}};
  if (searcher == "nsga2") return {{"population", 4}};
  if (searcher == "grid") return {{"points", 3}};
  return json::object();
}

json experiment_for(const std::string& searcher, int trials) {
  json e = lepton::test::small_experiment("s-" + searcher, trials, 2);
  e["search"]["searcher"] = searcher;
  e["search"]["options"] = options_for(searcher);
  return e;
}

const std::vector<std::string> kSearchers{"tpe", "gp", "cmaes", "evolution", "nsga2", "grid"};

}  // namespace

TEST_CASE("every searcher runs a study end to end through the lepton binary", "[e2e][searchers][slow]") {
  TempDir dir;
  for (const auto& name : kSearchers) {
    INFO(name);
    json e = experiment_for(name, 10);
    e["search"]["parallel"] = 2;
    const auto file = dir.write_json(name + ".json", e);
    const auto r = run_lepton({"run", file, "--storage", dir.sqlite_url(), "--quiet"});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    auto store = open_store(dir.sqlite_url(), OpenMode::kExisting);
    const auto study = store->find_study("s-" + name);
    REQUIRE(study);
    const auto trials = store->trials(study->id);
    CHECK(trials.size() == 10);
    const auto space = lepton::SearchSpace::parse(e["search"]["space"], "search.space");
    for (const auto& t : trials) {
      INFO("trial " << t.number << ": " << t.params.dump() << " " << t.error);
      CHECK(t.state == TrialState::kComplete);
      CHECK_FALSE(space.check(t.params).has_value());
    }
  }
}

TEST_CASE("a resumed study proposes exactly what an uninterrupted one does", "[searchers][resume][slow]") {
  Registry registry;
  registry.load_default();
  // A quick deterministic objective stands in for training; the engine, store and searcher state
  // are the real ones.
  const Evaluator evaluate = [](const TrialRecord& trial, const std::function<bool(int, double)>&) {
    const json& p = trial.params;
    double v = std::pow(std::log10(p["lr"].get<double>()) + 2, 2) + std::pow((p["hidden"].get<double>() - 40) / 30, 2);
    if (p["optimizer"] == "sgd") v += std::pow(p["momentum"].get<double>() - 0.9, 2);
    return TrialResult{TrialState::kComplete, {1.0 / (1.0 + v)}, {{"val_accuracy", 1.0 / (1.0 + v)}}, "", json::object()};
  };
  class Quiet final : public ProgressSink {} quiet;
  for (const auto& name : std::vector<std::string>{"random", "tpe", "gp", "cmaes", "evolution", "nsga2", "grid"}) {
    INFO(name);
    TempDir dir;
    const auto prepared = prepare_experiment(parse_experiment(experiment_for(name, 16), {}), registry);
    auto straight = open_store(dir.sqlite_url("straight.db"));
    run_study(prepared, *straight, registry, RunOptions{16, 1}, quiet, "s", evaluate);
    auto stopped = open_store(dir.sqlite_url("stopped.db"));
    run_study(prepared, *stopped, registry, RunOptions{9, 1}, quiet, "s", evaluate);
    run_study(prepared, *stopped, registry, RunOptions{16, 1}, quiet, "s", evaluate);  // a new searcher, from the store

    const auto a = straight->trials(straight->find_study("s")->id), b = stopped->trials(stopped->find_study("s")->id);
    REQUIRE(a.size() == 16);
    REQUIRE(b.size() == 16);
    for (std::size_t i = 0; i < a.size(); ++i) {
      INFO("trial " << i);
      CHECK(a[i].params == b[i].params);
    }
  }
}

TEST_CASE("a two-objective study reports its Pareto front", "[e2e][searchers][pareto][slow]") {
  TempDir dir;
  json e = experiment_for("nsga2", 12);
  e["task"]["objective"] = json::array({{{"metric", "val_accuracy"}}, {{"metric", "val_loss"}}});
  const auto file = dir.write_json("mo.json", e);
  const auto run = run_lepton({"run", file, "--storage", dir.sqlite_url(), "--quiet"});
  INFO(run.err);
  REQUIRE(run.exit_code == 0);
  CHECK_THAT(run.out, Catch::Contains("Pareto front:"));

  const auto best = run_lepton({"best", "--storage", dir.sqlite_url(), "--study", "s-nsga2", "--json"});
  REQUIRE(best.exit_code == 0);
  const json b = json::parse(best.out);
  for (const char* key : {"number", "state", "values", "params", "metrics", "pareto_front"}) CHECK(b.contains(key));
  const auto& front = b["pareto_front"];
  REQUIRE(front.size() >= 1);
  CHECK(front[0]["number"] == b["number"]);

  // No trial of the study beats a front member on both objectives, and every trial off the
  // front is beaten by one on it.
  auto store = open_store(dir.sqlite_url(), OpenMode::kExisting);
  const auto trials = store->trials(store->find_study("s-nsga2")->id);
  const std::vector<lepton::Direction> directions{lepton::Direction::kMaximize, lepton::Direction::kMinimize};
  auto loss = [&](const std::vector<double>& v) { return lepton::to_minimization(v, directions); };
  std::set<int> on_front;
  for (const auto& f : front) {
    on_front.insert(f["number"].get<int>());
    const std::vector<double> fv{f["values"]["val_accuracy"].get<double>(), f["values"]["val_loss"].get<double>()};
    for (const auto& t : trials) CHECK_FALSE(lepton::dominates(loss(t.values), loss(fv)));
  }
  for (const auto& t : trials) {
    if (on_front.count(t.number)) continue;
    CHECK(std::any_of(trials.begin(), trials.end(), [&](const TrialRecord& f) {
      return on_front.count(f.number) && (lepton::dominates(loss(f.values), loss(t.values)) || f.values == t.values);
    }));
  }

  const auto table = run_lepton({"best", "--storage", dir.sqlite_url(), "--study", "s-nsga2"});
  REQUIRE(table.exit_code == 0);
  CHECK_THAT(table.out, Catch::Contains("Pareto front of study s-nsga2: " + std::to_string(front.size())));
  const auto studies = run_lepton({"studies", "--storage", dir.sqlite_url(), "--json"});
  REQUIRE(studies.exit_code == 0);
  CHECK(json::parse(studies.out)[0]["pareto_front"].size() == front.size());
}

TEST_CASE("the tpe example experiment runs", "[e2e][searchers][slow]") {
  TempDir dir;
  const auto r = run_lepton({"run", std::string(LEPTON_SOURCE_DIR) + "/experiments/tpe.json", "--storage",
                             dir.sqlite_url(), "--trials", "4", "--quiet"},
                            {}, LEPTON_SOURCE_DIR);
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK_THAT(r.out, Catch::Contains("4 trials: 4 complete"));
}
