// Report building blocks: running best, Pareto front, permutation importances on the forest
// surrogate, CSV quoting, the Optuna journal's lines, and the HTML page's data and self-containment.
#include "report/convergence.hpp"
#include "report/export.hpp"
#include "report/html_report.hpp"
#include "report/importance.hpp"
#include "report/pareto.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <sstream>

using lepton::Direction;
using lepton::json;
using lepton::TrialState;
using namespace lepton::engine;

namespace {

TrialRecord trial(int number, TrialState state, std::vector<double> values, json params = json::object()) {
  TrialRecord t;
  t.id = number + 1;
  t.number = number;
  t.state = state;
  t.values = std::move(values);
  t.params = std::move(params);
  t.started_at = 1'700'000'000.0 + number;
  t.finished_at = t.started_at + 0.5;
  return t;
}

const std::vector<Objective> kMax{{"val_accuracy", Direction::kMaximize}};
const std::vector<Objective> kTwo{{"val_accuracy", Direction::kMaximize}, {"val_loss", Direction::kMinimize}};

StudyRecord study_with_space(const json& space, std::vector<Objective> objectives) {
  StudyRecord study;
  study.id = 1;
  study.name = "unit";
  study.objectives = std::move(objectives);
  study.created_at = 1'700'000'000.0;
  study.spec = {{"experiment", {{"search", {{"searcher", "random"}, {"space", space}}}}}, {"data_dirs", json::array()}};
  return study;
}

}  // namespace

TEST_CASE("convergence keeps the running best by trial number, skipping trials without a value", "[report]") {
  std::vector<TrialRecord> trials{trial(2, TrialState::kComplete, {0.7}), trial(0, TrialState::kComplete, {0.5}),
                                  trial(1, TrialState::kPruned, {}), trial(3, TrialState::kComplete, {0.6}),
                                  trial(4, TrialState::kComplete, {0.9})};
  const Convergence up = convergence(trials, 0, Direction::kMaximize);
  CHECK(up.numbers == std::vector<int>{0, 2, 3, 4});
  CHECK(up.best == std::vector<double>{0.5, 0.7, 0.7, 0.9});
  CHECK(up.best_number == std::vector<int>{0, 2, 2, 4});
  CHECK(std::isnan(up.best_within(0)));
  CHECK(up.best_within(1) == 0.5);
  CHECK(up.best_within(3) == 0.7);  // trials 0..2
  CHECK(up.best_within(100) == 0.9);

  const Convergence down = convergence(trials, 0, Direction::kMinimize);
  CHECK(down.best == std::vector<double>{0.5, 0.5, 0.5, 0.5});
}

TEST_CASE("the Pareto front holds exactly the non-dominated complete trials", "[report]") {
  // (accuracy max, loss min)
  std::vector<TrialRecord> trials{
      trial(0, TrialState::kComplete, {0.90, 0.30}),  // front
      trial(1, TrialState::kComplete, {0.85, 0.20}),  // front
      trial(2, TrialState::kComplete, {0.80, 0.35}),  // dominated by 0 and 1
      trial(3, TrialState::kComplete, {0.95, 0.50}),  // front
      trial(4, TrialState::kComplete, {0.90, 0.30}),  // equal to 0: neither dominates, both stay
      trial(5, TrialState::kPruned, {0.99, 0.01}),    // not complete: never on the front
      trial(6, TrialState::kComplete, {0.85, 0.25}),  // dominated by 1
  };
  const auto front = pareto_front(trials, kTwo);
  CHECK(front == std::vector<std::size_t>{0, 1, 3, 4});
  CHECK(dominates({0.9, 0.2}, {0.8, 0.3}, kTwo));
  CHECK_FALSE(dominates({0.9, 0.3}, {0.9, 0.3}, kTwo));
  CHECK_FALSE(dominates({0.95, 0.5}, {0.85, 0.2}, kTwo));
}

TEST_CASE("permutation importance ranks the parameters the objective depends on", "[report][importance]") {
  const json space = {{"strong", {{"type", "float"}, {"low", 0.0}, {"high", 1.0}}},
                      {"weak", {{"type", "float"}, {"low", 1e-4}, {"high", 1.0}, {"log", true}}},
                      {"kind", {{"type", "categorical"}, {"choices", {"a", "b", "c"}}}},
                      {"noise", {{"type", "int"}, {"low", 0}, {"high", 100}}},
                      {"fixed", {{"type", "fixed"}, {"value", 3}}}};
  const StudyRecord study = study_with_space(space, kMax);
  lepton::Rng rng(7);
  std::vector<TrialRecord> trials;
  for (int i = 0; i < 300; ++i) {
    const double strong = lepton::uniform01(rng);
    const double weak = std::exp(std::log(1e-4) + lepton::uniform01(rng) * -std::log(1e-4));
    const char* kinds[] = {"a", "b", "c"};
    const int kind = static_cast<int>(lepton::uniform_int(rng, 0, 2));
    const auto noise = lepton::uniform_int(rng, 0, 100);
    const double value = 4.0 * strong + 0.4 * std::log10(weak) / 4.0 + (kind == 2 ? 1.0 : 0.0);
    trials.push_back(trial(i, TrialState::kComplete, {value},
                           {{"strong", strong}, {"weak", weak}, {"kind", kinds[kind]}, {"noise", noise}, {"fixed", 3}}));
  }
  trials.push_back(trial(300, TrialState::kFail, {}, {{"strong", 0.5}}));
  const Importances result = param_importances(study_space(study), trials, kMax, 0);
  REQUIRE(result.params.size() == 4);  // the fixed parameter is not searched
  CHECK(result.trials_used == 300);
  CHECK(result.params[0].name == "strong");
  CHECK(result.params[0].share > 0.6);
  CHECK(result.params[1].name == "kind");
  CHECK(result.params[2].name == "weak");
  CHECK(result.params[3].name == "noise");
  CHECK(result.params[3].share < 0.02);
  double total = 0;
  for (const auto& p : result.params) total += p.share;
  CHECK(total == Approx(1.0));
  CHECK(result.surrogate_r2 > 0.8);

  // Too few trials, or a flat objective: a note instead of numbers.
  std::vector<TrialRecord> few(trials.begin(), trials.begin() + 3);
  CHECK(param_importances(study_space(study), few, kMax, 0).params.empty());
  std::vector<TrialRecord> flat = trials;
  for (auto& t : flat) t.values = {1.0};
  const auto flat_result = param_importances(study_space(study), flat, kMax, 0);
  CHECK(flat_result.params.empty());
  CHECK_THAT(flat_result.note, Catch::Contains("same val_accuracy"));
}

TEST_CASE("CSV fields are quoted per RFC 4180 and rows have every column", "[report][export]") {
  CHECK(csv_field("plain") == "plain");
  CHECK(csv_field("a,b") == "\"a,b\"");
  CHECK(csv_field("say \"hi\"") == "\"say \"\"hi\"\"\"");
  CHECK(csv_field("two\nlines") == "\"two\nlines\"");

  const StudyRecord study = study_with_space(json::object(), kMax);
  auto failed = trial(1, TrialState::kFail, {}, {{"optimizer", "sgd"}});
  failed.error = "loss is NaN, at epoch 2";
  auto done = trial(0, TrialState::kComplete, {0.875}, {{"lr", 0.01}, {"optimizer", "adam"}});
  done.metrics = {{"val_accuracy", 0.875}, {"test_accuracy", 0.8}};
  done.intermediate = {{1, 0.7}, {2, 0.875}};
  std::ostringstream out;
  write_trials_csv(study, {done, failed}, out);
  std::istringstream lines(out.str());
  std::string header, first, second;
  std::getline(lines, header);
  std::getline(lines, first);
  std::getline(lines, second);
  CHECK(header ==
        "number,state,values_val_accuracy,params_lr,params_optimizer,metrics_test_accuracy,metrics_val_accuracy,seed,"
        "datetime_start,datetime_complete,duration_s,epochs,error");
  CHECK_THAT(first, Catch::StartsWith("0,COMPLETE,0.875,0.01,adam,0.8,0.875,0,2023-11-14T22:13:20.000000Z,"));
  CHECK_THAT(first, Catch::EndsWith(",0.5,2,"));
  CHECK_THAT(second, Catch::StartsWith("1,FAIL,,,sgd,,,0,"));
  CHECK_THAT(second, Catch::EndsWith(",0,\"loss is NaN, at epoch 2\""));
}

TEST_CASE("the Optuna journal holds one study and one CREATE_TRIAL per trial with distributions", "[report][export]") {
  const json space = {{"lr", {{"type", "float"}, {"low", 1e-4}, {"high", 0.1}, {"log", true}}},
                      {"hidden", {{"type", "int"}, {"low", 16}, {"high", 256}, {"step", 16}}},
                      {"optimizer", {{"type", "categorical"}, {"choices", {"adam", "sgd"}}}},
                      {"momentum", {{"type", "float"}, {"low", 0.0}, {"high", 0.9}, {"when", {{"optimizer", {"sgd"}}}}}}};
  const StudyRecord study = study_with_space(space, kTwo);
  auto done = trial(0, TrialState::kComplete, {0.9, 0.25}, {{"lr", 0.001}, {"hidden", 64}, {"optimizer", "sgd"}, {"momentum", 0.5}});
  done.intermediate = {{1, 0.8}, {2, 0.9}};
  auto pruned = trial(1, TrialState::kPruned, {}, {{"lr", 0.01}, {"hidden", 32}, {"optimizer", "adam"}});
  pruned.intermediate = {{1, 0.5}};
  std::ostringstream out;
  write_optuna_journal(study, study_space(study), {pruned, done}, out);
  std::vector<json> ops;
  std::istringstream lines(out.str());
  for (std::string line; std::getline(lines, line);) ops.push_back(json::parse(line));
  REQUIRE(ops.size() == 6);  // study, 2 user attrs, 1 system attr, 2 trials
  CHECK(ops[0]["op_code"] == 0);
  CHECK(ops[0]["directions"] == json::array({2, 1}));  // MAXIMIZE, MINIMIZE
  const json& first = ops[4];
  CHECK(first["op_code"] == 4);
  CHECK(first["user_attrs"]["lepton_number"] == 0);  // sorted by number
  CHECK(first["state"] == 1);
  CHECK(first["values"] == json::array({0.9, 0.25}));
  CHECK(first["value"].is_null());
  CHECK(first["params"]["optimizer"] == 1);  // index of "sgd"
  CHECK(first["params"]["hidden"] == 64.0);
  CHECK(json::parse(first["distributions"]["lr"].get<std::string>()) ==
        json({{"name", "FloatDistribution"}, {"attributes", {{"low", 1e-4}, {"high", 0.1}, {"log", true}, {"step", nullptr}}}}));
  CHECK(json::parse(first["distributions"]["hidden"].get<std::string>())["attributes"]["step"] == 16);
  CHECK(first["intermediate_values"] == json({{"1", 0.8}, {"2", 0.9}}));
  CHECK(first.contains("datetime_complete"));
  const json& second = ops[5];
  CHECK(second["state"] == 2);  // PRUNED
  CHECK(second["values"].is_null());
  CHECK_FALSE(second["params"].contains("momentum"));
}

TEST_CASE("report data marks pruned curves, the Pareto front and the ranking, and the page is self-contained", "[report][html]") {
  const json space = {{"lr", {{"type", "float"}, {"low", 1e-4}, {"high", 0.1}, {"log", true}}},
                      {"optimizer", {{"type", "categorical"}, {"choices", {"adam", "sgd"}}}}};
  const StudyRecord study = study_with_space(space, kTwo);
  std::vector<TrialRecord> trials;
  for (int i = 0; i < 8; ++i) {
    // Accuracy and loss rise together up to trial 5; 6 and 7 have the worst loss, and 7 dominates 6.
    auto t = trial(i, TrialState::kComplete, {0.5 + 0.05 * i, i < 6 ? 0.1 * i : 1.0},
                   {{"lr", 0.001 * (i + 1)}, {"optimizer", i % 2 ? "sgd" : "adam"}});
    t.intermediate = {{1, 0.4}, {2, t.values[0]}};
    trials.push_back(t);
  }
  auto pruned = trial(8, TrialState::kPruned, {}, {{"lr", 0.05}, {"optimizer", "sgd"}});
  pruned.intermediate = {{1, 0.3}};
  pruned.error = "pruned </script><script>alert(1)</script>";
  trials.push_back(pruned);

  const json data = report_data(study, trials, {"sqlite:///x.db", 1.0});
  CHECK(data["trials"]["state"][8] == "PRUNED");
  CHECK(data["trials"]["values"][0][8].is_null());
  CHECK(data["curves"]["index"].size() == 9);
  CHECK(data["curves"]["index"][8] == 8);
  CHECK(data["order"][0] == 7);  // best accuracy first
  CHECK(data["order"][8] == 8);  // unranked last
  CHECK(data["best"] == 7);
  CHECK(data["history"][0]["best"].back() == Approx(0.85));
  CHECK(data["pareto"] == json::array({0, 1, 2, 3, 4, 5, 7}));
  CHECK(data["params"].size() == 2);
  CHECK(data["importance"].size() == 2);

  std::ostringstream page;
  write_html_report(data, page);
  const std::string html = page.str();
  CHECK_THAT(html, Catch::StartsWith("<!doctype html>"));
  CHECK(html.find("@@") == std::string::npos);  // every marker filled
  CHECK(html.find("<script src") == std::string::npos);
  CHECK(html.find("<link") == std::string::npos);
  CHECK(html.find("echarts") != std::string::npos);
  // The failure reason cannot close the data block.
  CHECK(html.find("</script><script>alert(1)") == std::string::npos);
  CHECK(html.find("pruned <\\/script><script>alert(1)<\\/script>") != std::string::npos);
}
