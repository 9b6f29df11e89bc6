// Model selection in experiment files: the family is a categorical parameter, each family's
// parameters are conditional on it (never proposed for another family), routed to their owners.
#include "run/trial_params.hpp"
#include "experiment/experiment.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

using lepton::ConfigError;
using lepton::json;
using namespace lepton::engine;

namespace {

json selection_experiment() {
  json e = lepton::test::small_experiment("select", 4, 2);
  e["model"] = json::parse(R"({"choices": {
      "mlp":    {"layers": 1,
                 "hidden": {"type": "int", "low": 8, "high": 64},
                 "activation": {"type": "categorical", "choices": ["relu", "tanh"]},
                 "dropout": {"type": "float", "low": 0.0, "high": 0.5, "when": {"activation": ["tanh"]}},
                 "lr": {"type": "float", "low": 1e-3, "high": 1e-1, "log": true}},
      "linear": {"optimizer": "lbfgs", "pca": true,
                 "weight_decay": {"type": "float", "low": 1e-6, "high": 1e-1, "log": true}},
      "rbf":    {"plugin": "kernel", "gamma": {"type": "float", "low": 0.01, "high": 1, "log": true}}}})");
  e["search"]["space"] = json::parse(R"({"scaler": {"type": "categorical", "choices": ["none", "standardize"]},
                                         "batch_size": {"type": "categorical", "choices": [16, 32]}})");
  return e;
}

std::string error_of(const json& experiment) {
  try {
    parse_experiment(experiment, {});
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "no error";
}

}  // namespace

TEST_CASE("model choices become a categorical `model` with each family's parameters conditional on it",
          "[model_selection]") {
  const Experiment e = parse_experiment(selection_experiment(), {});
  REQUIRE(e.model_choices.size() == 3);
  CHECK(e.model_choices[2].family == "rbf");
  CHECK(e.model_choices[2].plugin == "kernel");
  CHECK(e.model_choices[1].family == "mlp");  // families in name order, as JSON objects keep them
  CHECK(e.model_choices[1].config == json{{"layers", 1}});
  const auto& space = e.search.space;
  const lepton::ParamSpec* model = space.find("model");
  REQUIRE(model);
  CHECK(model->choices == std::vector<json>{"linear", "mlp", "rbf"});
  const lepton::ParamSpec* hidden = space.find("mlp.hidden");
  REQUIRE(hidden);
  CHECK(hidden->when.at("model") == std::vector<json>{"mlp"});
  // A condition inside a family follows the renaming and keeps the family's condition.
  const lepton::ParamSpec* dropout = space.find("mlp.dropout");
  REQUIRE(dropout);
  CHECK(dropout->when.at("mlp.activation") == std::vector<json>{"tanh"});
  CHECK(dropout->when.at("model") == std::vector<json>{"mlp"});
  CHECK(space.find("scaler"));  // shared parameters stay as they are
  CHECK_FALSE(space.find("hidden"));
}

TEST_CASE("a parameter of a family not chosen is never proposed, and a point holding one is invalid",
          "[model_selection]") {
  const Experiment e = parse_experiment(selection_experiment(), {});
  lepton::Rng rng(11);
  std::map<std::string, int> seen;
  for (int i = 0; i < 300; ++i) {
    const json p = e.search.space.sample(rng);
    const std::string family = p.at("model");
    ++seen[family];
    for (const auto& item : p.items()) {
      const auto dot = item.key().find('.');
      if (dot != std::string::npos) CHECK(item.key().substr(0, dot) == family);
    }
    CHECK_FALSE(e.search.space.check(p).has_value());
  }
  CHECK(seen.size() == 3);
  json bad = {{"model", "linear"}, {"scaler", "none"}, {"batch_size", 16}, {"linear.weight_decay", 0.01}, {"mlp.hidden", 8}};
  const auto why = e.search.space.check(bad);
  REQUIRE(why);
  CHECK_THAT(*why, Catch::Contains("mlp.hidden") && Catch::Contains("inactive"));
}

TEST_CASE("a trial's parameters go to the chosen family's plugin, the trainer and the preprocessing",
          "[model_selection]") {
  const Experiment e = parse_experiment(selection_experiment(), {});
  const TrialParams mlp = route_trial_params(e, {{"model", "mlp"}, {"mlp.hidden", 16}, {"mlp.activation", "relu"},
                                                 {"mlp.lr", 0.01}, {"scaler", "standardize"}, {"batch_size", 16}});
  CHECK(mlp.model_plugin == "mlp");
  CHECK(mlp.model == json{{"layers", 1}, {"hidden", 16}, {"activation", "relu"}});
  CHECK(mlp.settings.at("lr") == 0.01);
  CHECK(mlp.settings.at("batch_size") == 16);
  CHECK(mlp.settings.at("epochs") == 2);
  CHECK(mlp.preprocess == json{{"scaler", "standardize"}});
  const TrialParams rbf = route_trial_params(e, {{"model", "rbf"}, {"rbf.gamma", 0.1}, {"scaler", "none"}, {"batch_size", 32}});
  CHECK(rbf.model_plugin == "kernel");
  CHECK(rbf.model == json{{"gamma", 0.1}});
  CHECK(rbf.settings.count("optimizer") == 0);
  CHECK_THROWS_AS(route_trial_params(e, {{"scaler", "none"}}), ConfigError);
  // A family's fixed values go to their owners too: the optimizer to the trainer, pca to the
  // preprocessing, and only the rest to the plugin.
  const TrialParams linear = route_trial_params(e, {{"model", "linear"}, {"linear.weight_decay", 1e-3}, {"scaler", "none"}});
  CHECK(linear.model_plugin == "linear");
  CHECK(linear.model == json::object());
  CHECK(linear.settings.at("optimizer") == "lbfgs");
  CHECK(linear.settings.at("weight_decay") == 1e-3);
  CHECK(linear.preprocess == json{{"scaler", "none"}, {"pca", true}});
}

TEST_CASE("bad model choices name the JSON path", "[model_selection]") {
  json e = selection_experiment();
  e["model"]["choices"] = json::object();
  CHECK_THAT(error_of(e), Catch::StartsWith("model.choices: expected an object with at least one family"));
  e = selection_experiment();
  e["model"]["choices"]["mlp"] = 3;
  CHECK_THAT(error_of(e), Catch::StartsWith("model.choices.mlp: expected an object"));
  e = selection_experiment();
  e["model"]["choices"]["mlp"]["hidden"]["low"] = 100;
  CHECK_THAT(error_of(e), Catch::StartsWith("model.choices.mlp.hidden"));
  e = selection_experiment();
  e["model"]["choices"]["mlp"]["dropout"]["when"] = {{"activaton", json::array({"tanh"})}};
  CHECK_THAT(error_of(e), Catch::StartsWith("model.choices.mlp.dropout.when.activaton") && Catch::Contains("activation"));
  e = selection_experiment();
  e["model"]["choices"]["a.b"] = json::object();
  CHECK_THAT(error_of(e), Catch::StartsWith("model.choices.a.b: a family name"));
  e = selection_experiment();
  e["model"]["plugin"] = "mlp";
  CHECK_THAT(error_of(e), Catch::StartsWith("model.plugin"));
  e = selection_experiment();
  e["search"]["space"]["model"] = {{"type", "categorical"}, {"choices", json::array({"x"})}};
  CHECK_THAT(error_of(e), Catch::StartsWith("search.space.model"));
  e = selection_experiment();
  e["preprocess"] = {{"scaler", "zscore"}};
  CHECK_THAT(error_of(e), Catch::StartsWith("preprocess.scaler") && Catch::Contains("standardize"));
  e = selection_experiment();
  e["preprocess"] = {{"scaler", "none"}};
  CHECK_THAT(error_of(e), Catch::StartsWith("search.space.scaler") && Catch::Contains("either fixed or searched"));
}
