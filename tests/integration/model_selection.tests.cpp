// Model selection end to end: a study searches families and preprocessing together, stores each
// trial's family with only that family's parameters, and `trials --group-by model` ranks the families.
#include "support/process.hpp"
#include "support/study_files.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <set>

using lepton::json;
using lepton::test::run_lepton;

namespace {

json iris_selection(const std::string& name, int trials) {
  return json::parse(R"({
    "dataset": {"plugin": "csv", "path": ")" + std::string(LEPTON_DATA_DIR) + R"(/iris.csv",
                "split": {"valid": 0.3, "test": 0.2, "seed": 1}},
    "model": {"choices": {
      "linear": {"weight_decay": {"type": "float", "low": 1e-5, "high": 1e-2, "log": true}},
      "kernel": {"features": 64, "gamma": {"type": "float", "low": 0.05, "high": 2, "log": true}},
      "mlp":    {"layers": 1, "hidden": {"type": "int", "low": 8, "high": 32}}}},
    "task": {"type": "train", "epochs": 4, "lr": 0.05, "objective": {"metric": "val_accuracy"}},
    "search": {"searcher": "random", "seed": 4, "trials": )" + std::to_string(trials) + R"(,
               "space": {"scaler": {"type": "categorical", "choices": ["none", "standardize", "minmax"]},
                         "pca": {"type": "categorical", "choices": [false, true]},
                         "pca_components": {"type": "int", "low": 2, "high": 3, "when": {"pca": [true]}}}},
    "name": ")" + name + R"("
  })");
}

}  // namespace

TEST_CASE("a study chooses among model families, each trial stores only its family's parameters",
          "[model_selection][slow]") {
  lepton::test::TempDir dir;
  const std::string url = dir.sqlite_url();
  const auto run = run_lepton({"run", dir.write_json("e.json", iris_selection("select", 9)), "--storage", url, "--quiet"});
  INFO(run.out << run.err);
  REQUIRE(run.exit_code == 0);

  const auto listed = run_lepton({"trials", "--storage", url, "--study", "select", "--json"});
  REQUIRE(listed.exit_code == 0);
  const json trials = json::parse(listed.out);
  REQUIRE(trials.size() == 9);
  std::set<std::string> families;
  for (const auto& t : trials) {
    INFO(t.dump());
    CHECK(t.at("state") == "COMPLETE");
    const std::string family = t.at("params").at("model");
    families.insert(family);
    for (const auto& item : t.at("params").items()) {
      const auto dot = item.key().find('.');
      if (dot != std::string::npos) CHECK(item.key().substr(0, dot) == family);  // never another family's
    }
    CHECK(t.at("params").contains("pca_components") == t.at("params").at("pca").get<bool>());
  }
  CHECK(families.size() >= 2);

  const auto best = run_lepton({"best", "--storage", url, "--study", "select", "--json"});
  REQUIRE(best.exit_code == 0);
  CHECK(json::parse(best.out).at("params").contains("model"));

  const auto grouped = run_lepton({"trials", "--storage", url, "--study", "select", "--group-by", "model", "--json"});
  REQUIRE(grouped.exit_code == 0);
  const json groups = json::parse(grouped.out);
  REQUIRE(groups.size() == families.size());
  int counted = 0;
  for (std::size_t i = 0; i < groups.size(); ++i) {
    counted += groups[i].at("trials").get<int>();
    CHECK(groups[i].at("best").at("params").at("model") == groups[i].at("model"));
    if (i > 0) CHECK(groups[i - 1].at("best_value").get<double>() >= groups[i].at("best_value").get<double>());
  }
  CHECK(counted == 9);
  const auto table = run_lepton({"trials", "--storage", url, "--study", "select", "--group-by", "model"});
  CHECK_THAT(table.out, Catch::Contains("rank") && Catch::Contains("best val_accuracy") && Catch::Contains("mean"));
  const auto wrong = run_lepton({"trials", "--storage", url, "--study", "select", "--group-by", "modle"});
  CHECK(wrong.exit_code == 2);
  CHECK_THAT(wrong.err, Catch::Contains("--group-by") && Catch::Contains("model"));
}

TEST_CASE("a family the plugins cannot serve exits 2 naming model.choices, and stores nothing",
          "[model_selection][slow]") {
  lepton::test::TempDir dir;
  json e = iris_selection("bad", 2);
  e["model"]["choices"]["nosuch"] = json::object();
  auto result = run_lepton({"run", dir.write_json("a.json", e), "--storage", dir.sqlite_url()});
  CHECK(result.exit_code == 2);
  CHECK_THAT(result.err, Catch::Contains("model.choices.nosuch"));
  e = iris_selection("bad", 2);
  e["model"]["choices"]["linear"]["hidden"] = {{"type", "int"}, {"low", 2}, {"high", 4}};
  result = run_lepton({"run", dir.write_json("b.json", e), "--storage", dir.sqlite_url()});
  CHECK(result.exit_code == 2);
  CHECK_THAT(result.err, Catch::Contains("model.choices.linear.hidden") && Catch::Contains("family \"linear\""));
  e = iris_selection("bad", 2);
  e["search"]["space"]["hidden"] = {{"type", "int"}, {"low", 2}, {"high", 4}};
  result = run_lepton({"run", dir.write_json("c.json", e), "--storage", dir.sqlite_url()});
  CHECK(result.exit_code == 2);
  CHECK_THAT(result.err, Catch::Contains("search.space.hidden"));
  // A family's fixed trainer setting is checked against the trainer's choices.
  e = iris_selection("bad", 2);
  e["model"]["choices"]["linear"]["optimizer"] = "lbfgz";
  result = run_lepton({"run", dir.write_json("d.json", e), "--storage", dir.sqlite_url()});
  CHECK(result.exit_code == 2);
  CHECK_THAT(result.err, Catch::Contains("model.choices.linear.optimizer") && Catch::Contains("\"lbfgs\""));
  CHECK_FALSE(std::filesystem::exists(dir.file("study.db")));
}

TEST_CASE("the model-selection examples run as documented", "[model_selection][experiments][slow]") {
  lepton::test::TempDir dir;
  for (const char* name : {"breast_cancer_select", "iris_select", "digits_select", "german_credit_select"}) {
    INFO(name);
    const auto r = run_lepton({"run", std::string(LEPTON_SOURCE_DIR) + "/experiments/" + name + ".json", "--storage",
                               dir.sqlite_url(), "--trials", "1", "--quiet"},
                              {}, LEPTON_SOURCE_DIR);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK_THAT(r.out, Catch::Contains("1 trials: 1 complete"));
  }
}

TEST_CASE("the encoding of categorical attributes is searched like any preprocessing step", "[model_selection][slow]") {
  lepton::test::TempDir dir;
  const json e = json::parse(R"({
    "name": "encode",
    "dataset": {"plugin": "arff", "path": ")" + std::string(LEPTON_SOURCE_DIR) + R"(/data/credit-g.arff",
                "split": {"valid": 0.25, "test": 0.2, "seed": 3}},
    "model": {"plugin": "linear"},
    "task": {"type": "train", "epochs": 3, "lr": 0.05, "objective": {"metric": "val_accuracy"}},
    "search": {"searcher": "grid", "trials": 2, "seed": 1,
               "space": {"encoding": {"type": "categorical", "choices": ["onehot", "ordinal"]},
                         "scaler": {"type": "categorical", "choices": ["standardize"]}}}
  })");
  const std::string url = dir.sqlite_url();
  const auto run = run_lepton({"run", dir.write_json("e.json", e), "--storage", url, "--quiet"});
  INFO(run.out << run.err);
  REQUIRE(run.exit_code == 0);
  const auto trials = lepton::test::trials_of(url, "encode");
  REQUIRE(trials.size() == 2);
  std::set<std::string> seen;
  for (const auto& t : trials) {
    INFO(t.error);
    REQUIRE(t.state == lepton::TrialState::kComplete);
    const std::string encoding = t.params.at("encoding");
    seen.insert(encoding);
    const json& pre = t.attrs.at("preprocess");
    // 7 numeric + 13 categorical attributes: 63 inputs one-hot (13 groups), 20 as indices; two classes.
    if (encoding == "onehot") {
      CHECK(pre.at("onehot").size() == 13);
      CHECK(t.metrics.at("parameter_count") == (63 + 1) * 2);
    } else {
      CHECK_FALSE(pre.contains("onehot"));
      CHECK(t.metrics.at("parameter_count") == (20 + 1) * 2);
    }
    CHECK(t.metrics.at("val_accuracy") > 0.6);
  }
  CHECK(seen == std::set<std::string>{"onehot", "ordinal"});

  // The saved model carries its encoding: predicting the whole file reads indices and encodes them.
  for (const auto& t : trials) {
    INFO(t.params.dump());
    const std::string model = dir.file("model-" + t.params.at("encoding").get<std::string>());
    REQUIRE(run_lepton({"export", "--storage", url, "--study", "encode", "--trial", std::to_string(t.number), "-o", model})
                .exit_code == 0);
    const auto predicted = run_lepton({"predict", "--model", model, "--data", std::string(LEPTON_SOURCE_DIR) + "/data/credit-g.arff", "--json"});
    INFO(predicted.err);
    REQUIRE(predicted.exit_code == 0);
    const json p = json::parse(predicted.out);
    CHECK(p.at("samples") == 1000);
    CHECK(p.at("scored") == 1000);
    CHECK(p.at("metrics").at("accuracy").get<double>() > 0.6);
  }
}
