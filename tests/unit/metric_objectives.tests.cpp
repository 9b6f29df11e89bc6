// Experiments with metric plugins and class weights: parsing, binding to the plugins before any
// write, and trials that report the plugins' metrics.
#include "run/study.hpp"
#include "run/trial_runner.hpp"
#include "experiment/experiment.hpp"
#include "support/plugins.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

using lepton::ConfigError;
using lepton::json;
using namespace lepton::engine;

namespace {

const Registry& plugins() { return lepton::test::build_plugins(); }

json clinical_experiment() {
  json e = lepton::test::small_experiment("clinical", 2, 2);
  e["metrics"] = json::array({{{"plugin", "clinical"}, {"positive", "malignant"}}});
  e["task"]["objective"] = {{"metric", "val_sensitivity_at_specificity"}};
  e["task"]["class_weight"] = "balanced";
  return e;
}

std::string prepare_error(const json& document) {
  try {
    prepare_experiment(parse_experiment(document, {LEPTON_SOURCE_DIR}), plugins());
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST_CASE("objectives may name metric plugins' metrics, checked when the plugins are bound", "[metric_objectives]") {
  const Experiment e = parse_experiment(clinical_experiment(), {});
  REQUIRE(e.metrics.size() == 1);
  CHECK(e.metrics[0].plugin == "clinical");
  CHECK(e.metrics[0].path == "metrics[0]");
  CHECK(e.metrics[0].config == json{{"positive", "malignant"}});
  CHECK_FALSE(e.task.objectives[0].direction_given);
  CHECK(e.task.settings["class_weight"] == "balanced");

  // Without metric plugins, only built-in names are accepted, as before.
  json plain = lepton::test::small_experiment();
  plain["task"]["objective"] = {{"metric", "val_sensitivity"}};
  CHECK_THROWS_WITH(parse_experiment(plain, {}), Catch::StartsWith("task.objective.metric: expected one of val_accuracy"));

  json typo = clinical_experiment();
  typo["task"]["objective"]["metric"] = "val_sensitivty";
  CHECK_THAT(prepare_error(typo), Catch::StartsWith("task.objective.metric: no metric \"val_sensitivty\" (did you mean "
                                                    "\"val_sensitivity\"?)"));
  json unknown = clinical_experiment();
  unknown["metrics"][0]["plugin"] = "clinicle";
  CHECK_THAT(prepare_error(unknown), Catch::StartsWith("metrics[0].plugin: unknown metric plugin \"clinicle\"; did you "
                                                       "mean \"clinical\"?"));
  json bad_option = clinical_experiment();
  bad_option["metrics"][0]["positive"] = "malign";
  CHECK_THAT(prepare_error(bad_option), Catch::StartsWith("metrics[0].positive: no class \"malign\""));
  json twice = clinical_experiment();
  twice["metrics"].push_back({{"plugin", "clinical"}});
  CHECK_THAT(prepare_error(twice), Catch::Contains("metrics[1].plugin: metric plugin \"clinical\" is already listed"));
}

TEST_CASE("class_weight takes balanced, none, or positive weights by class", "[metric_objectives][class_weight]") {
  auto error = [](const json& weight) {
    json e = lepton::test::small_experiment();
    e["task"]["class_weight"] = weight;
    try {
      parse_experiment(e, {});
    } catch (const ConfigError& ex) {
      return std::string(ex.what());
    }
    return std::string("no error");
  };
  CHECK(error("balanced") == "no error");
  CHECK(error({{"malignant", 2.5}}) == "no error");
  CHECK(error(json::array({1, 2})) == "no error");
  CHECK(error("balance") == "task.class_weight: \"class_weight\" takes one of \"none\", \"balanced\", got \"balance\"");
  CHECK(error({{"malignant", -1}}) == "task.class_weight.malignant: class weights must be positive, got -1");
  json e = lepton::test::small_experiment();
  e["task"]["class_weight"] = {{"benign", 1}, {"malingant", 3}};
  CHECK_THAT(prepare_error(e), Catch::StartsWith("task.class_weight.malingant: no class \"malingant\" (did you mean "
                                                 "\"malignant\"?)"));
}

TEST_CASE("a trial stores the metric plugins' values beside the built-in ones", "[metric_objectives]") {
  const PreparedExperiment prepared = prepare_experiment(parse_experiment(clinical_experiment(), {}), plugins());
  CHECK(prepared.experiment.task.objectives[0].direction == lepton::Direction::kMaximize);
  TrialRecord trial;
  trial.number = 0;
  trial.seed = 42;
  trial.params = {{"lr", 0.01}, {"hidden", 16}, {"optimizer", "adam"}};
  const TrialResult result = run_trial(prepared, plugins(), trial, [](int, double) { return false; });
  INFO(result.error);
  REQUIRE(result.state == lepton::TrialState::kComplete);
  for (const char* name : {"val_sensitivity", "val_specificity", "val_auc", "test_sensitivity_at_specificity", "val_accuracy"})
    CHECK(result.metrics.count(name) == 1);
  CHECK(result.values.at(0) == result.metrics.at("val_sensitivity_at_specificity"));

  // A cost objective without a direction is minimized, as the plugin's manifest declares.
  json cost = lepton::test::small_experiment("cost", 1, 1);
  cost["metrics"] = json::array({{{"plugin", "cost_matrix"}, {"costs", {{"malignant", {{"benign", 5}}}}}}});
  cost["task"]["objective"] = {{"metric", "val_average_cost"}};
  const PreparedExperiment costly = prepare_experiment(parse_experiment(cost, {}), plugins());
  CHECK(costly.experiment.task.objectives[0].direction == lepton::Direction::kMinimize);
}

TEST_CASE("balanced class weights change what training learns", "[metric_objectives][class_weight]") {
  json base = lepton::test::small_experiment("weights", 1, 3);
  auto sensitivity = [&](const json& weight) {
    json e = base;
    e["metrics"] = json::array({{{"plugin", "clinical"}, {"positive", "malignant"}, {"threshold", 0.5}}});
    e["task"]["class_weight"] = weight;
    const PreparedExperiment prepared = prepare_experiment(parse_experiment(e, {}), plugins());
    TrialRecord trial;
    trial.seed = 9;
    trial.params = {{"lr", 0.002}, {"hidden", 8}, {"optimizer", "sgd"}, {"momentum", 0.5}};
    const auto result = run_trial(prepared, plugins(), trial, [](int, double) { return false; });
    REQUIRE(result.state == lepton::TrialState::kComplete);
    return result.metrics.at("val_sensitivity");
  };
  // Weighing the minority class (malignant) up makes the model flag more of it.
  CHECK(sensitivity(json::object({{"malignant", 10}})) > sensitivity("none"));
}
