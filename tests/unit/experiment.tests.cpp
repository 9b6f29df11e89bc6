// Experiment-file validation: every error names the JSON path and what was expected.
#include "experiment/experiment.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

using lepton::ConfigError;
using lepton::json;
using namespace lepton::engine;

namespace {
std::string error_of(json experiment) {
  try {
    parse_experiment(experiment, {});
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "no error";
}

json with(const json& patch) {
  json e = lepton::test::small_experiment();
  e.merge_patch(patch);
  return e;
}
}  // namespace

TEST_CASE("a valid experiment parses into its sections", "[experiment]") {
  const Experiment e = parse_experiment(lepton::test::small_experiment("ok", 5, 2), {"/data"});
  CHECK(e.name == "ok");
  CHECK(e.dataset.plugin == "csv");
  CHECK_FALSE(e.dataset.config.contains("plugin"));
  CHECK(e.model.plugin == "mlp");
  CHECK(e.task.type == TaskType::kTrain);
  CHECK(e.task.settings["epochs"] == 2);
  REQUIRE(e.task.objectives.size() == 1);
  CHECK(e.task.objectives[0].metric == "val_accuracy");
  CHECK(e.task.objectives[0].direction == lepton::Direction::kMaximize);
  CHECK(e.search.trials == 5);
  CHECK(e.search.space.size() == 4);
  CHECK(e.data_dirs == std::vector<std::string>{"/data"});
}

TEST_CASE("experiment errors name the JSON path", "[experiment]") {
  CHECK(error_of(with({{"serach", 1}})).rfind("serach: unknown key (did you mean \"search\"?)", 0) == 0);
  CHECK(error_of(with({{"name", "has space"}})) ==
        "name: a study name is 1 to 128 letters, digits, '_', '-' or '.', got \"has space\"");
  CHECK(error_of(with({{"search", {{"trials", 0}}}})) == "search.trials: expected an integer in [1, 10000000], got 0");
  CHECK(error_of(with({{"search", {{"trials", "many"}}}})) == "search.trials: expected an integer, got string \"many\"");
  CHECK(error_of(with({{"search", {{"parallel", -1}}}})) == "search.parallel: expected an integer in [1, 1024], got -1");
  CHECK(error_of(with({{"task", {{"epochs", 0}}}})) == "task.epochs: \"epochs\" takes values in [1, 100000], got 0");
  CHECK(error_of(with({{"task", {{"optimizer", "adagrad"}}}})) ==
        "task.optimizer: \"optimizer\" takes one of \"adam\", \"adamw\", \"sgd\", \"lbfgs\", got \"adagrad\"");
  CHECK(error_of(with({{"task", {{"objective", {{"metric", "val_acc"}}}}}})) ==
        "task.objective.metric: expected one of val_accuracy, val_precision, val_recall, val_f1, val_roc_auc, "
        "val_loss, train_loss, parameter_count, latency_ms, got \"val_acc\" (did you mean \"val_accuracy\"?)");
  CHECK(error_of(with({{"task", {{"objective", {{"metric", "test_accuracy"}}}}}})) ==
        "task.objective.metric: optimizing \"test_accuracy\" would tune on the test split; optimize "
        "\"val_accuracy\" and read the test metrics afterwards");
  CHECK(error_of(with({{"task", {{"objective", json::array()}}}})) == "task.objective: expected at least one objective");
  CHECK(error_of(with({{"dataset", {{"plugin", nullptr}}}})) == "dataset.plugin: required key is missing");
  CHECK(error_of(with({{"model", nullptr}})) == "model: required key is missing");
  CHECK(error_of(with({{"storage", "mysql://x"}})) ==
        "storage: unsupported storage URL \"mysql://x\"; use sqlite:///relative/path.db, sqlite:////absolute/path.db "
        "or postgresql://user@host:port/database");
  CHECK(error_of(with({{"search", {{"space", {{"lr", {{"low", 1.0}}}}}}}})) ==
        "search.space.lr.low: low (1) is greater than high (0.03)");
}

TEST_CASE("the task type is read from its name once, at the experiment file", "[experiment]") {
  for (const TaskType type : {TaskType::kTrain, TaskType::kFinetune, TaskType::kDistill})
    CHECK(parse_task_type(to_string(type)) == type);
  CHECK_FALSE(parse_task_type("fine-tune"));
  CHECK(task_type_names() == std::vector<std::string>{"train", "finetune", "distill"});
  const std::string error = error_of(with({{"task", {{"type", "fine-tune"}}}}));
  CHECK(error.rfind("task.type: ", 0) == 0);
  CHECK_THAT(error, Catch::Contains("\"finetune\""));
}

TEST_CASE("plugin options are checked against the manifest's parameters", "[experiment]") {
  const ParamSchema schema = ParamSchema::parse(
      json::parse(R"({"population": {"type": "int", "low": 2, "high": 100}, "greedy": {"type": "bool"}})"), "manifest");
  const std::string owner = "searcher \"evolution\"";
  auto error = [&](const json& options) {
    try {
      check_options(options, schema, owner, "search.options");
    } catch (const lepton::ConfigError& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  CHECK(error({{"population", 10}, {"greedy", true}}).empty());
  CHECK(error(json::object()).empty());
  CHECK(error({{"populaton", 10}}) ==
        "search.options.populaton: unknown option for searcher \"evolution\" (did you mean \"population\"?); it takes: "
        "greedy, population");
  CHECK(error({{"population", 1}}) == "search.options.population: \"population\" takes values in [2, 100], got 1");
  CHECK(error({{"greedy", 1}}) == "search.options.greedy: expected true or false, got number 1");
  CHECK_THROWS_WITH(check_options({{"x", 1}}, ParamSchema(), owner, "search.options"),
                    "search.options.x: unknown option for searcher \"evolution\"; it takes no options");
}

TEST_CASE("a parameter cannot be both fixed and searched", "[experiment]") {
  CHECK(error_of(with({{"task", {{"lr", 0.01}}}})) ==
        "search.space.lr: \"lr\" is also fixed at task.lr; a parameter is either fixed or searched, remove one");
  CHECK(error_of(with({{"model", {{"hidden", 32}}}})) ==
        "search.space.hidden: \"hidden\" is also fixed at model.hidden; a parameter is either fixed or searched, "
        "remove one");
}

TEST_CASE("objective directions default by metric and lists give several objectives", "[experiment]") {
  const Experiment e = parse_experiment(
      with({{"task", {{"objective", json::parse(R"([{"metric": "val_f1"}, {"metric": "val_loss"}])")}}}}), {});
  REQUIRE(e.task.objectives.size() == 2);
  CHECK(e.task.objectives[0].direction == lepton::Direction::kMaximize);
  CHECK(e.task.objectives[1].direction == lepton::Direction::kMinimize);
}

TEST_CASE("load_experiment reports JSON syntax errors with line and column", "[experiment]") {
  lepton::test::TempDir dir;
  const std::string file = dir.write("bad.json", "{\n  \"name\": \"x\",\n  \"search\": {,}\n}\n");
  try {
    load_experiment(file);
    FAIL("expected a ConfigError");
  } catch (const ConfigError& e) {
    CHECK(std::string(e.what()).rfind("line 3, column 14: invalid JSON: syntax error", 0) == 0);
  }
  CHECK_THROWS_WITH(load_experiment(dir.file("absent.json")),
                    "cannot read the experiment file: No such file or directory");
}

TEST_CASE("first_difference finds the section that changes results", "[experiment]") {
  const Experiment a = parse_experiment(with(json::object()), {});
  CHECK(first_difference(a, parse_experiment(with({{"search", {{"trials", 99}, {"parallel", 2}}}}), {})).empty());
  CHECK(first_difference(a, parse_experiment(with({{"search", {{"seed", 4}}}}), {})) == "search.seed");
  CHECK(first_difference(a, parse_experiment(with({{"task", {{"epochs", 9}}}}), {})) == "task");
  CHECK(first_difference(a, parse_experiment(with({{"search", {{"space", {{"hidden", {{"high", 65}}}}}}}}), {})) ==
        "search.space");
}

TEST_CASE("finetune and distill tasks name where they start from, the sections they add parse strictly", "[experiment]") {
  const json source = {{"study", "digits-source"}};
  const Experiment ft = parse_experiment(
      with({{"model", nullptr}, {"task", {{"type", "finetune"}, {"source", source}, {"freeze_layers", 1}}}}), {});
  CHECK(ft.task.type == TaskType::kFinetune);
  REQUIRE(ft.task.source);
  CHECK(ft.task.source->study == "digits-source");
  CHECK(ft.task.source->trial == "best");
  CHECK(ft.model.plugin.empty());  // the source's model
  const Experiment d = parse_experiment(
      with({{"task", {{"type", "distill"}, {"teacher", "models/teacher"}, {"temperature", 3.0}}},
            {"pruner", {{"type", "asha"}, {"min_epochs", 2}}},
            {"dataset", {{"subset", {{"classes", {"0", "1"}}, {"train_per_class", 5}}}}}}),
      {});
  CHECK(d.task.source->file == "models/teacher");
  CHECK(d.pruner.type == "asha");
  CHECK(d.subset.train_per_class == 5);
  CHECK(first_difference(d, parse_experiment(with({{"task", {{"type", "distill"}, {"teacher", "models/teacher"},
                                                               {"temperature", 3.0}}},
                                                   {"dataset", {{"subset", {{"classes", {"0", "1"}}, {"train_per_class", 5}}}}}}),
                                              {})) == "pruner");

  CHECK(error_of(with({{"task", {{"type", "finetune"}}}})) ==
        "task.source: a finetune task needs a \"source\": a saved model's folder or {\"study\": NAME, \"trial\": \"best\"}");
  CHECK(error_of(with({{"task", {{"type", "distill"}, {"teacher", {{"study", "t"}, {"trial", "last"}}}}}})) ==
        "task.teacher.trial: expected \"best\" or a trial number, got string \"last\"");
  CHECK_THAT(error_of(with({{"task", {{"teacher", "x"}}}})), Catch::StartsWith("task.teacher: unknown key"));
  CHECK(error_of(with({{"task", {{"type", "distill"}, {"teacher", "x"}, {"alpha", 1.5}}}})) ==
        "task.alpha: \"alpha\" takes values in [0, 1], got 1.5");
  CHECK_THAT(error_of(with({{"task", {{"freeze_layers", 1}}}})), Catch::StartsWith("task.freeze_layers: unknown key"));
  CHECK(error_of(with({{"task", {{"cross_validation", {{"folds", 1}}}}}})) ==
        "task.cross_validation.folds: expected an integer in [2, 100], got 1");
  CHECK_THAT(error_of(with({{"pruner", {{"type", "asha"}, {"warmup_epochs", 1}}}})),
             Catch::StartsWith("pruner.warmup_epochs: unknown key"));
  CHECK(error_of(with({{"dataset", {{"subset", {{"classes", {"a"}}}}}}})) ==
        "dataset.subset.classes: classification needs at least 2 classes");
  CHECK(error_of(with({{"model", nullptr}})) == "model: required key is missing");  // only finetune may leave it out
}
