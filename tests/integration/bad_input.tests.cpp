// The bad-input catalogue: malformed experiment files and command lines, each with the message the
// user sees, exit code 2, and the study store left exactly as it was (no new files either).
#include "support/process.hpp"
#include "support/study_files.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <memory>
#include <set>

using lepton::json;
using lepton::test::BackgroundProcess;

namespace {

struct Case {
  std::string name;
  std::vector<std::string> args;  ///< after `lepton`; "{file}" is the case's experiment, "{store}" the store URL
  std::string message;            ///< expected on stderr
  json patch = nullptr;           ///< merged into the small experiment when not null
  std::string text{};             ///< the experiment file's raw text, when not empty
};

std::set<std::string> listing(const std::string& folder) {
  std::set<std::string> out;
  for (const auto& e : std::filesystem::directory_iterator(folder)) out.insert(e.path().filename().string());
  return out;
}

// Runs the cases four at a time against a store that holds a real study, and checks each.
void check_catalogue(const std::vector<Case>& cases) {
  lepton::test::TempDir dir;
  const std::string store = dir.sqlite_url();
  REQUIRE(lepton::test::run_lepton({"run", dir.write_json("good.json", lepton::test::small_experiment("good", 1, 1)),
                                    "--storage", store, "-q"})
              .exit_code == 0);
  const auto digest = lepton::test::file_digest(dir.file("study.db"));
  const auto files = listing(dir.path());
  const std::string cases_dir = dir.file("cases");
  std::filesystem::create_directory(cases_dir);
  dir.write("cases/cells.csv", "a,b,label\n1,2,0\n3,x,1\n5,6,0\n7,8,1\n");

  for (std::size_t first = 0; first < cases.size(); first += 4) {
    std::vector<std::unique_ptr<BackgroundProcess>> running;
    for (std::size_t i = first; i < std::min(cases.size(), first + 4); ++i) {
      const Case& c = cases[i];
      const std::string file = cases_dir + "/" + std::to_string(i) + ".json";
      if (!c.text.empty()) {
        dir.write("cases/" + std::to_string(i) + ".json", c.text);
      } else if (!c.patch.is_null()) {
        json experiment = lepton::test::small_experiment("bad", 2, 1);
        experiment.merge_patch(c.patch);
        dir.write_json("cases/" + std::to_string(i) + ".json", experiment);
      }
      std::vector<std::string> args{LEPTON_BIN};
      for (auto a : c.args) {
        if (a == "{file}") a = file;
        if (a == "{store}") a = store;
        args.push_back(a);
      }
      running.push_back(std::make_unique<BackgroundProcess>(args, cases_dir + "/" + std::to_string(i) + ".log"));
    }
    for (std::size_t k = 0; k < running.size(); ++k) {
      const Case& c = cases[first + k];
      const int code = running[k]->wait();
      const std::string err = running[k]->err();
      INFO(c.name << "\n" << err);
      CHECK(code == 2);
      CHECK_THAT(err, Catch::Contains(c.message));
      CHECK_THAT(err, Catch::StartsWith("error: ") || Catch::Contains("Run with --help"));
    }
  }
  CHECK(lepton::test::file_digest(dir.file("study.db")) == digest);  // the store was never touched
  auto after = listing(dir.path());
  after.erase("cases");
  CHECK(after == files);  // and no store was created anywhere
}

}  // namespace

TEST_CASE("bad experiment files: the JSON path, what was expected, exit 2, the store untouched",
          "[bad-input][cli][slow]") {
  const std::vector<std::string> run{"run", "{file}", "--storage", "{store}"};
  auto space = [](const std::string& name, const json& spec) { return json{{"search", {{"space", {{name, spec}}}}}}; };
  const std::vector<Case> cases{
      {"unknown key", run, "serach: unknown key (did you mean \"search\"?)", {{"serach", {{"trials", 3}}}}},
      {"unknown nested key", run, "task.epoch: unknown key (did you mean \"epochs\"?)", {{"task", {{"epoch", 3}}}}},
      {"wrong type", run, "task.epochs: expected an integer, got string \"ten\"", {{"task", {{"epochs", "ten"}}}}},
      {"low > high", run, "search.space.lr.low: low (5) is greater than high (0.03)", space("lr", {{"low", 5.0}})},
      {"log with low <= 0", run, "search.space.lr.low: a log-scale parameter needs low > 0, got low = 0",
       space("lr", {{"low", 0.0}})},
      {"empty choices", run, "search.space.optimizer.choices: choices must not be empty", space("optimizer", {{"choices", json::array()}})},
      {"unknown parameter type", run, "search.space.hidden.type: expected one of", space("hidden", {{"type", "integer"}})},
      {"condition on an unknown parameter", run, "search.space.momentum.when",
       space("momentum", {{"when", {{"optimiser", {"sgd"}}}}})},
      {"unknown model plugin", run, "model.plugin: unknown model plugin \"mpl\"; did you mean \"mlp\"?",
       {{"model", {{"plugin", "mpl"}}}}},
      {"unknown dataset plugin", run, "dataset.plugin: unknown dataset plugin \"cvs\"", {{"dataset", {{"plugin", "cvs"}}}}},
      {"unknown searcher", run, "search.searcher: unknown searcher plugin \"bayes\"", {{"search", {{"searcher", "bayes"}}}}},
      {"missing data file", run, "dataset.path: data file \"no/such/file.csv\" not found",
       {{"dataset", {{"path", "no/such/file.csv"}}}}},
      {"label column missing", run, "dataset.label: no column \"diagnosis\"", {{"dataset", {{"label", "diagnosis"}}}}},
      {"text in a numeric column", run, "dataset.types.b: column \"b\" is declared numeric, but line 3 holds \"x\"",
       {{"dataset", {{"path", "cells.csv"}, {"types", {{"b", "numeric"}}}}}}},
      {"NaN in the file", run, "line 1, column 10: invalid JSON: syntax error while parsing value - invalid literal", nullptr, R"({"name": NaN, "search": {}})"},
      {"truncated file", run, "invalid JSON", nullptr, R"({"name": "cut", "dataset": {"plugin": )"},
      {"number past double's range", run, "invalid JSON: number overflow parsing '1e999'", nullptr,
       R"({"name": "big", "search": {"trials": 1e999}})"},
      {"not an object", run, "expected an object, got an array", nullptr, "[1, 2, 3]"},
      {"unknown metric", run, "task.objective.metric: expected one of", {{"task", {{"objective", {{"metric", "val_acc"}}}}}}},
      {"objective on the test split", run, "would tune on the test split",
       {{"task", {{"objective", {{"metric", "test_accuracy"}}}}}}},
      {"misspelt direction", run, "task.objective.direction: expected one of maximize, minimize, got \"maximise\"",
       {{"task", {{"objective", {{"metric", "val_f1"}, {"direction", "maximise"}}}}}}},
      {"zero trials", run, "search.trials: expected an integer in [1, 10000000], got 0", {{"search", {{"trials", 0}}}}},
      {"bad study name", run, "name: a study name is 1 to 128 letters", {{"name", "my study!"}}},
      {"bad storage URL", run, "storage: unsupported storage URL \"mysql://db/x\"", {{"storage", "mysql://db/x"}}},
      {"fixed and searched", run, "search.space.lr: \"lr\" is also fixed at task.lr", {{"task", {{"lr", 0.01}}}}},
      {"out of the model's range", run, "search.space.dropout.high: \"dropout\" takes values in [0, 0.95], got 1.5",
       space("dropout", {{"type", "float"}, {"low", 0.0}, {"high", 1.5}})},
      {"bad isolation", run, "isolation: expected \"thread\" (trials share the study's process) or \"process\"",
       {{"isolation", "fork"}}},
      {"memory limit without a process", run, "trial_memory_limit: a memory limit needs a process per trial",
       {{"trial_memory_limit", "2GiB"}}},
      {"memory limit unit", run, "trial_memory_limit: expected a size such as", {{"trial_memory_limit", "2 parsecs"}}},
      {"negative retries", run, "max_retries: expected an integer in [0, 100], got -1", {{"max_retries", -1}}},
      {"zero heartbeat grace", run, "heartbeat_grace: expected a number in [1, 604800], got 0", {{"heartbeat_grace", 0}}},
      {"valid split of zero", run, "dataset.split.valid: the search scores trials on the valid split",
       {{"dataset", {{"split", {{"valid", 0.0}}}}}}},
      {"missing experiment file", {"run", "/no/such/experiment.json", "--storage", "{store}"},
       "cannot read the experiment file: No such file or directory"},
  };
  CHECK(cases.size() >= 25);
  check_catalogue(cases);
}

TEST_CASE("bad command lines: what is wrong, exit 2, the store untouched", "[bad-input][cli][slow]") {
  const std::vector<Case> cases{
      {"unknown subcommand", {"fly"}, "unknown command \"fly\"; the commands are run, resume, worker"},
      {"misspelt subcommand", {"resme", "--storage", "{store}"}, "unknown command \"resme\" (did you mean \"resume\"?)"},
      {"zero trials", {"run", "{file}", "--trials", "0"}, "--trials: Value 0 not in range"},
      {"not a number", {"run", "{file}", "--parallel", "two"}, "--parallel"},
      {"bad isolation", {"run", "{file}", "--isolation", "fork"}, "--isolation: fork not in {thread,process}"},
      {"bad storage URL", {"run", "{file}", "--storage", "mysql://db/x"}, "--storage: unsupported storage URL", json::object()},
      {"resume an unknown study", {"resume", "--storage", "{store}", "--study", "goood"},
       "no study \"goood\" in sqlite:///"},
      {"resume without --study", {"resume", "--storage", "{store}"}, "--study is required"},
      {"worker without --study", {"worker", "--storage", "{store}"}, "--study is required"},
      {"worker for a study that never comes", {"worker", "--storage", "{store}", "--study", "later", "--wait", "0"},
       "no study \"later\""},
      {"unknown state", {"trials", "--storage", "{store}", "--study", "good", "--state", "DONE"},
       "--state: expected COMPLETE, PRUNED, FAIL, RUNNING or WAITING, got \"DONE\""},
      {"missing store", {"best", "--storage", "sqlite:///no/such/store.db", "--study", "good"}, "no study store at"},
      {"doctor without a store", {"doctor", "--storage", "sqlite:///no/such/store.db"}, "no study store at"},
  };
  check_catalogue(cases);
}
