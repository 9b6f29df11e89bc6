// Results leave the store: `run --json` events, `report` opened in headless Chromium, `export-trials`
// (CSV, JSON, and a journal that Debian's Optuna 3.1 opens), and `compare`. Studies come from real
// runs of the `lepton` binary; where a state no first-party plugin produces yet is needed (PRUNED),
// trials are added through the real SQLite store.
#include "report/ranking.hpp"
#include "store/store.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <filesystem>
#include <set>
#include <sstream>

using lepton::json;
using lepton::TrialState;
using lepton::test::read_file;
using lepton::test::run_lepton;
using lepton::test::run_process;
using lepton::test::TempDir;
using namespace lepton::engine;

namespace {

std::vector<json> json_lines(const std::string& text) {
  std::vector<json> out;
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);)
    if (!line.empty()) out.push_back(json::parse(line));
  return out;
}

// Runs a real study; returns the run's result.
lepton::test::ProcessResult run_study_file(const TempDir& dir, const json& experiment, std::vector<std::string> extra = {}) {
  const std::string file = dir.write_json(experiment["name"].get<std::string>() + ".json", experiment);
  std::vector<std::string> args{"run", file, "--storage", dir.sqlite_url()};
  args.insert(args.end(), extra.begin(), extra.end());
  return run_lepton(args);
}

// Adds one finished trial to a stored study through the store's own API.
void add_trial(Store& store, std::int64_t study, const json& params, TrialState state, std::vector<double> values,
               std::map<int, double> epochs, const std::string& error = "") {
  std::int64_t cursor = 0;
  const auto t = store.start_trial(study, &cursor, "test:1:1", [&](int, std::vector<TrialRecord>) {
    return std::optional<Proposal>(Proposal{params, 42, ""});
  });
  REQUIRE(t);
  for (const auto& [step, value] : epochs) store.report(t->id, step, value);
  TrialResult r;
  r.state = state;
  r.values = std::move(values);
  r.error = error;
  if (state == TrialState::kPruned) r.attrs = {{"pruned_at_epoch", epochs.rbegin()->first}};
  REQUIRE(store.finish_trial(t->id, r));
}

json multi_objective(const std::string& name, int trials, int epochs) {
  json e = lepton::test::small_experiment(name, trials, epochs);
  e["task"]["objective"] = json::array({{{"metric", "val_accuracy"}, {"direction", "maximize"}},
                                        {{"metric", "val_loss"}, {"direction", "minimize"}}});
  return e;
}

}  // namespace

TEST_CASE("run --json streams one event per line on stdout, and --quiet shows no progress",
          "[results][progress][slow]") {
  TempDir dir;
  const auto r = run_study_file(dir, lepton::test::small_experiment("events", 3, 2), {"--json"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  const auto events = json_lines(r.out);  // throws (fails the test) on any line that is not JSON
  REQUIRE(events.size() == 1 + 3 + 3 + 1);
  CHECK(events.front()["event"] == "study_started");
  CHECK(events.front()["target"] == 3);
  CHECK(events.back()["event"] == "study_finished");
  CHECK(events.back()["trials"] == 3);
  CHECK(events.back()["best"]["values"].contains("val_accuracy"));
  int started = 0, finished = 0;
  for (const auto& e : events) {
    started += e["event"] == "trial_started";
    if (e["event"] == "trial_finished") {
      ++finished;
      CHECK(e["progress"]["done"] == finished);
      CHECK(e["trial"]["state"] == "COMPLETE");
    }
  }
  CHECK(started == 3);
  CHECK(finished == 3);
  CHECK(r.err.find("trial") == std::string::npos);  // no progress lines besides the events

  const auto quiet = run_lepton({"resume", "--storage", dir.sqlite_url(), "--study", "events", "--trials", "4", "--quiet"});
  INFO(quiet.err);
  REQUIRE(quiet.exit_code == 0);
  CHECK(quiet.err.empty());
  CHECK_THAT(quiet.out, Catch::Contains("4 trials: 4 complete"));
}

TEST_CASE("the HTML report renders every plot in headless Chromium without errors", "[results][browser][slow]") {
  TempDir dir;
  const auto run = run_study_file(dir, multi_objective("report-mo", 6, 3));
  INFO(run.err);
  REQUIRE(run.exit_code == 0);

  // A single-objective study with pruned and failed trials beside complete ones.
  {
    auto store = open_store(dir.sqlite_url());
    const json experiment = lepton::test::small_experiment("report-pruned", 12, 4);
    const auto study = store->create_study("report-pruned", {{"val_accuracy", lepton::Direction::kMaximize}},
                                           {{"experiment", experiment}, {"data_dirs", json::array()}});
    for (int i = 0; i < 12; ++i) {
      const double lr = 0.001 * (1 + i), quality = 0.6 + 0.03 * i;
      const json params = {{"lr", lr}, {"hidden", 8 + 4 * i}, {"optimizer", i % 3 ? "adam" : "sgd"}};
      json p = params;
      if (i % 3 == 0) p["momentum"] = 0.9;
      std::map<int, double> epochs;
      const int reached = i % 4 == 1 ? 2 : 4;
      for (int e = 1; e <= reached; ++e) epochs[e] = quality * e / 4.0;
      if (i % 4 == 1)
        add_trial(*store, study.id, p, TrialState::kPruned, {}, epochs);
      else if (i == 6)
        add_trial(*store, study.id, p, TrialState::kFail, {}, {{1, 0.5}}, "loss is NaN at epoch 2");
      else
        add_trial(*store, study.id, p, TrialState::kComplete, {quality}, epochs);
    }
  }

  // And a study with no trial yet: the page must still open cleanly.
  open_store(dir.sqlite_url())
      ->create_study("report-empty", {{"val_loss", lepton::Direction::kMinimize}},
                     {{"experiment", lepton::test::small_experiment("report-empty")}, {"data_dirs", json::array()}});

  const std::string mo = dir.file("report-mo.html"), pruned = dir.file("report-pruned.html"), empty = dir.file("report-empty.html");
  for (const auto& [study, file] :
       {std::pair{"report-mo", mo}, std::pair{"report-pruned", pruned}, std::pair{"report-empty", empty}}) {
    const auto r = run_lepton({"report", "--storage", dir.sqlite_url(), "--study", study, "-o", file});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK_THAT(r.out, Catch::Contains("Wrote " + file));
    const std::string html = read_file(file);
    CHECK(html.find("<script src") == std::string::npos);  // self-contained
    CHECK(html.find("<link ") == std::string::npos);
  }

  const std::string artifacts = std::string(LEPTON_TEST_ARTIFACTS_DIR) + "/report";
  const auto browser = run_process({"/usr/bin/env", "node", std::string(LEPTON_SOURCE_DIR) + "/tests/tools/check_report.cjs", artifacts, mo, pruned, empty},
                                   {{"NODE_PATH", std::string(LEPTON_SOURCE_DIR) + "/web/node_modules"}});
  INFO(browser.err);
  REQUIRE(browser.exit_code == 0);
  const json result = json::parse(browser.out);
  REQUIRE(result["pages"].size() == 3);

  auto series_points = [](const json& chart, const std::string& name) {
    for (const auto& s : chart["series"])
      if (s["name"] == name) return s["points"].get<int>();
    return -1;
  };
  std::map<std::string, json> charts;
  for (const auto& page : result["pages"]) {
    INFO(page.dump(1));
    CHECK(page["ready"] == true);
    CHECK(page["consoleErrors"].empty());
    CHECK(page["pageErrors"].empty());
    CHECK(page["requests"].empty());  // nothing fetched from a network
    CHECK(page["report"]["errors"].empty());
    CHECK(page["report"]["rendered"] == page["report"]["charts"]);
    for (const auto& chart : page["charts"]) {
      if (!chart["visible"].get<bool>()) continue;
      CHECK(chart["rendered"] == true);
      REQUIRE(chart["canvas"].is_object());
      CHECK(chart["canvas"]["width"].get<int>() > 100);
      CHECK(chart["canvas"]["height"].get<int>() > 100);
      charts[std::filesystem::path(page["file"].get<std::string>()).stem().string() + "/" + chart["id"].get<std::string>()] = chart;
    }
    CHECK(std::filesystem::file_size(page["screenshot"].get<std::string>()) > 10'000);
  }
  const auto& pages = result["pages"];
  // Multi-objective: a history per objective, a Pareto front, and every trial in the table.
  CHECK(pages[0]["tableRows"] == 6);
  REQUIRE(charts.count("report-mo/chart-pareto"));
  CHECK(series_points(charts["report-mo/chart-pareto"], "Pareto front") >= 1);
  CHECK(series_points(charts["report-mo/chart-pareto"], "Pareto front") +
            series_points(charts["report-mo/chart-pareto"], "dominated") == 6);
  CHECK(charts.count("report-mo/chart-history-0"));
  CHECK(charts.count("report-mo/chart-history-1"));
  CHECK(series_points(charts["report-mo/chart-parallel"], "") == 6);
  CHECK(series_points(charts["report-mo/chart-importance"], "val_accuracy") == 4);  // lr, hidden, optimizer, momentum
  // Pruned trials are drawn and marked where they stopped; the failed one is not in the history.
  CHECK(pages[1]["tableRows"] == 12);
  CHECK(series_points(charts["report-pruned/chart-curves"], "pruned here") == 3);
  CHECK(series_points(charts["report-pruned/chart-history-0"], "trial") == 8);
  CHECK(charts.count("report-pruned/chart-pareto") == 0);  // hidden for one objective
  CHECK(pages[2]["tableRows"] == 0);
}

TEST_CASE("export-trials writes CSV and JSON, and Optuna 3.1 opens the journal with the same trials",
          "[results][export][slow]") {
  TempDir dir;
  const auto run = run_study_file(dir, lepton::test::small_experiment("export", 4, 2));
  INFO(run.err);
  REQUIRE(run.exit_code == 0);
  {
    auto store = open_store(dir.sqlite_url());
    const auto study = store->find_study("export");
    add_trial(*store, study->id, {{"lr", 0.002}, {"hidden", 16}, {"optimizer", "sgd"}, {"momentum", 0.6}}, TrialState::kPruned,
              {}, {{1, 0.5}});
    add_trial(*store, study->id, {{"lr", 0.02}, {"hidden", 40}, {"optimizer", "adam"}}, TrialState::kFail, {}, {},
              "loss is NaN, at epoch 1");
  }
  auto store = open_store(dir.sqlite_url(), OpenMode::kExisting);
  const auto study = store->find_study("export");
  const auto trials = store->trials(study->id);
  REQUIRE(trials.size() == 6);

  // CSV: a header and one row per trial; the failure reason (with a comma) is quoted.
  const auto csv = run_lepton({"export-trials", "--storage", dir.sqlite_url(), "--study", "export", "--format", "csv"});
  REQUIRE(csv.exit_code == 0);
  std::vector<std::string> rows;
  std::istringstream lines(csv.out);
  for (std::string line; std::getline(lines, line);) rows.push_back(line);
  REQUIRE(rows.size() == 7);
  CHECK_THAT(rows[0], Catch::StartsWith("number,state,values_val_accuracy,params_hidden,params_lr,params_momentum,params_optimizer,"));
  CHECK_THAT(rows[6], Catch::StartsWith("5,FAIL,") && Catch::EndsWith(",\"loss is NaN, at epoch 1\""));

  // JSON: the study and every stored field of every trial.
  const auto doc = run_lepton({"export-trials", "--storage", dir.sqlite_url(), "--study", "export", "--format", "json", "-o",
                               dir.file("trials.json")});
  REQUIRE(doc.exit_code == 0);
  const json exported = json::parse(read_file(dir.file("trials.json")));
  CHECK(exported["study"]["name"] == "export");
  REQUIRE(exported["trials"].size() == 6);
  CHECK(exported["trials"][0]["intermediate"].size() == 2);

  // Optuna journal, read back by Optuna itself.
  const std::string journal = dir.file("export.log");
  const auto j = run_lepton({"export-trials", "--storage", dir.sqlite_url(), "--study", "export", "--format", "optuna-journal",
                             "-o", journal});
  INFO(j.err);
  REQUIRE(j.exit_code == 0);
  CHECK_THAT(j.out, Catch::Contains("optuna.load_study(study_name=\"export\""));
  const auto optuna = run_process({"/usr/bin/python3", std::string(LEPTON_SOURCE_DIR) + "/tests/tools/optuna_load_journal.py",
                                   journal, "export"});
  INFO(optuna.err);
  REQUIRE(optuna.exit_code == 0);
  const json seen = json::parse(optuna.out);
  CHECK_THAT(seen["optuna_version"].get<std::string>(), Catch::StartsWith("3."));
  CHECK(seen["directions"] == json::array({"MAXIMIZE"}));
  REQUIRE(seen["trials"].size() == trials.size());
  const auto space = lepton::SearchSpace::parse(lepton::test::small_experiment()["search"]["space"], "space");
  for (std::size_t i = 0; i < trials.size(); ++i) {
    const TrialRecord& mine = trials[i];
    const json& theirs = seen["trials"][i];
    INFO("trial " << mine.number << ": " << theirs.dump());
    CHECK(theirs["number"] == mine.number);
    CHECK(theirs["state"] == to_string(mine.state));
    CHECK(theirs["params"] == mine.params);
    CHECK(theirs["user_attrs"]["lepton_number"] == mine.number);
    for (const auto& item : mine.params.items()) {
      const json& distribution = theirs["distributions"][item.key()];
      const auto* spec = space.find(item.key());
      REQUIRE(spec);
      if (spec->type == lepton::ParamType::kCategorical) {
        CHECK(distribution["name"] == "CategoricalDistribution");
        CHECK(distribution["attributes"]["choices"] == json(spec->choices));
      } else {
        CHECK(distribution["name"] == (spec->type == lepton::ParamType::kInt ? "IntDistribution" : "FloatDistribution"));
        CHECK(distribution["attributes"]["low"].get<double>() == spec->low);
        CHECK(distribution["attributes"]["high"].get<double>() == spec->high);
        CHECK(distribution["attributes"]["log"] == spec->log);
      }
    }
    if (mine.state == TrialState::kComplete) {
      REQUIRE(theirs["values"].size() == 1);
      CHECK(theirs["values"][0].get<double>() == mine.values[0]);
      CHECK(theirs["user_attrs"]["test_accuracy"].get<double>() == mine.metrics.at("test_accuracy"));
    } else {
      CHECK(theirs["values"].is_null());
    }
    CHECK(theirs["intermediate_values"].size() == mine.intermediate.size());
    for (const auto& [step, value] : mine.intermediate)
      CHECK(theirs["intermediate_values"][std::to_string(step)].get<double>() == value);
    CHECK(theirs["datetime_start"].is_string());
    CHECK(theirs["datetime_complete"].is_string());
    if (mine.state == TrialState::kFail) CHECK(theirs["system_attrs"]["fail_reason"] == mine.error);
  }
  // Optuna agrees on the best trial.
  SortKey key;
  CHECK(seen["best_trial"] == rank(trials, key).front().number);
}

TEST_CASE("compare shows two studies' best values, convergence and best parameters", "[results][compare][slow]") {
  TempDir dir;
  {
    auto store = open_store(dir.sqlite_url());
    const json spec = {{"experiment", lepton::test::small_experiment("a")}, {"data_dirs", json::array()}};
    const std::vector<Objective> accuracy{{"val_accuracy", lepton::Direction::kMaximize}};
    const auto a = store->create_study("fast", accuracy, spec);
    const auto b = store->create_study("slow", accuracy, spec);
    const std::vector<double> fast{0.90, 0.95, 0.93, 0.94, 0.92}, slow{0.80, 0.85, 0.86, 0.90, 0.97};
    for (std::size_t i = 0; i < fast.size(); ++i) {
      add_trial(*store, a.id, {{"lr", 0.001 * (i + 1)}, {"hidden", 8}, {"optimizer", "adam"}}, TrialState::kComplete, {fast[i]}, {});
      add_trial(*store, b.id, {{"lr", 0.002 * (i + 1)}, {"hidden", 16}, {"optimizer", "adam"}}, TrialState::kComplete, {slow[i]}, {});
    }
    store->create_study("loss", {{"val_loss", lepton::Direction::kMinimize}}, spec);
  }
  const auto text = run_lepton({"compare", "--storage", dir.sqlite_url(), "fast", "slow"});
  INFO(text.err);
  REQUIRE(text.exit_code == 0);
  CHECK_THAT(text.out, Catch::Contains("best val_accuracy (max)") && Catch::Contains("0.95 (#1)") &&
                           Catch::Contains("0.97 (#4) *") && Catch::Contains("Convergence"));

  const auto j = run_lepton({"compare", "--storage", dir.sqlite_url(), "fast", "slow", "--json"});
  REQUIRE(j.exit_code == 0);
  const json out = json::parse(j.out);
  CHECK(out["a"]["best"]["val_accuracy"]["value"] == 0.95);
  CHECK(out["a"]["best"]["val_accuracy"]["after_trials"] == 2);
  CHECK(out["b"]["best"]["val_accuracy"]["value"] == 0.97);
  CHECK(out["b"]["best_params"]["lr"] == Approx(0.01));
  // Convergence at N = 1, 2, 5: the best within the first N trials.
  REQUIRE(out["convergence"].size() == 3);
  CHECK(out["convergence"][0]["trials"] == 1);
  CHECK(out["convergence"][0]["a"]["val_accuracy"] == 0.90);
  CHECK(out["convergence"][1]["a"]["val_accuracy"] == 0.95);
  CHECK(out["convergence"][1]["b"]["val_accuracy"] == 0.85);
  CHECK(out["convergence"][2]["b"]["val_accuracy"] == 0.97);

  const auto mismatch = run_lepton({"compare", "--storage", dir.sqlite_url(), "fast", "loss"});
  CHECK(mismatch.exit_code == 2);
  CHECK_THAT(mismatch.err, Catch::Contains("share no objective"));
  const auto typo = run_lepton({"compare", "--storage", dir.sqlite_url(), "fast", "slwo"});
  CHECK(typo.exit_code == 2);
  CHECK_THAT(typo.err, Catch::Contains("did you mean \"slow\"?"));
}
