// The study store, on both back ends (SQLite and PostgreSQL): round trips of every stored field,
// change feeds, study attributes; and the SQLite files it must refuse to touch.
#include "store/sqlite_store.hpp"
#include "store/store.hpp"
#include "support/any_store.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>
#include <sqlite3.h>

#include <cmath>
#include <filesystem>

using lepton::json;
using lepton::TrialState;
using namespace lepton::engine;

namespace {
const std::vector<Objective> kObjectives{{"val_accuracy", lepton::Direction::kMaximize}};

std::optional<TrialRecord> start(Store& store, std::int64_t study, std::int64_t* cursor, json params,
                                 std::vector<TrialRecord>* seen = nullptr) {
  return store.start_trial(study, cursor, "host:1:1", [&](int number, std::vector<TrialRecord> changed) {
    if (seen) *seen = changed;
    return std::optional<Proposal>(Proposal{params, static_cast<std::uint64_t>(1000 + number), ""});
  });
}
}  // namespace

TEST_CASE("studies are created once and found by name", "[store]") {
  const std::string backend = GENERATE(from_range(std::begin(lepton::test::kBackends), std::end(lepton::test::kBackends)));
  INFO("store: " << backend);
  lepton::test::AnyStore store(backend);
  bool created = false;
  const auto a = store->create_study("s", kObjectives, json{{"k", 1}}, &created);
  CHECK(created);
  const auto b = store->create_study("s", kObjectives, json{{"k", 2}}, &created);
  CHECK_FALSE(created);
  CHECK(a.id == b.id);
  CHECK(b.spec == json{{"k", 1}});
  REQUIRE(store->find_study("s"));
  CHECK(store->find_study("s")->objectives[0].metric == "val_accuracy");
  CHECK_FALSE(store->find_study("t"));
  CHECK(store->list_studies().size() == 1);
}

TEST_CASE("trials round-trip params, values, metrics, intermediate values and failures", "[store]") {
  const std::string backend = GENERATE(from_range(std::begin(lepton::test::kBackends), std::end(lepton::test::kBackends)));
  INFO("store: " << backend);
  lepton::test::AnyStore store(backend);
  const auto study = store->create_study("s", kObjectives, json::object());
  std::int64_t cursor = 0;
  const json params = {{"lr", 0.0125}, {"hidden", 64}, {"optimizer", "sgd"}, {"nesterov", true}};
  auto t0 = start(*store, study.id, &cursor, params);
  REQUIRE(t0);
  CHECK(t0->number == 0);
  store->report(t0->id, 1, 0.5);
  store->report(t0->id, 2, 0.75);
  TrialResult done;
  done.values = {0.91};
  done.metrics = {{"val_accuracy", 0.91}, {"val_roc_auc", std::nan("")}};
  done.attrs = {{"parameter_count", 1234}};
  CHECK(store->finish_trial(t0->id, done));
  CHECK_FALSE(store->finish_trial(t0->id, done));  // no longer RUNNING: unchanged

  auto t1 = start(*store, study.id, &cursor, json::object());
  TrialResult failed;
  failed.state = TrialState::kFail;
  failed.error = "loss became nan at epoch 2";
  store->finish_trial(t1->id, failed);

  const auto trials = store->trials(study.id);
  REQUIRE(trials.size() == 2);
  const auto& r = trials[0];
  CHECK(r.params == params);
  CHECK(r.params["hidden"].is_number_integer());
  CHECK(r.state == TrialState::kComplete);
  CHECK(r.seed == 1000);
  CHECK(r.values == std::vector<double>{0.91});
  CHECK(r.metrics.at("val_accuracy") == 0.91);
  CHECK(std::isnan(r.metrics.at("val_roc_auc")));
  CHECK(r.intermediate == std::map<int, double>{{1, 0.5}, {2, 0.75}});
  CHECK(r.attrs["parameter_count"] == 1234);
  CHECK(r.finished_at >= r.started_at);
  CHECK(trials[1].number == 1);
  CHECK(trials[1].state == TrialState::kFail);
  CHECK(trials[1].error == "loss became nan at epoch 2");
}

TEST_CASE("the change feed returns each change once, in number order", "[store]") {
  const std::string backend = GENERATE(from_range(std::begin(lepton::test::kBackends), std::end(lepton::test::kBackends)));
  INFO("store: " << backend);
  lepton::test::AnyStore store(backend);
  const auto study = store->create_study("s", kObjectives, json::object());
  std::int64_t cursor = 0;
  std::vector<TrialRecord> seen;
  auto a = start(*store, study.id, &cursor, {{"x", 1}}, &seen);
  CHECK(seen.empty());
  auto b = start(*store, study.id, &cursor, {{"x", 2}}, &seen);
  REQUIRE(seen.size() == 1);  // trial 0, RUNNING
  CHECK(seen[0].state == TrialState::kRunning);
  store->finish_trial(a->id, TrialResult{TrialState::kComplete, {0.5}, {}, "", json::object(), {}});
  start(*store, study.id, &cursor, {{"x", 3}}, &seen);
  REQUIRE(seen.size() == 2);  // trial 0 finished, trial 1 new
  CHECK(seen[0].number == 0);
  CHECK(seen[0].state == TrialState::kComplete);
  CHECK(seen[1].number == 1);
  CHECK(store->changed_trials(study.id, &cursor).size() == 1);  // trial 2
  CHECK(store->changed_trials(study.id, &cursor).empty());
}

TEST_CASE("a proposer that declines leaves no trial and no used number", "[store]") {
  const std::string backend = GENERATE(from_range(std::begin(lepton::test::kBackends), std::end(lepton::test::kBackends)));
  INFO("store: " << backend);
  lepton::test::AnyStore store(backend);
  const auto study = store->create_study("s", kObjectives, json::object());
  std::int64_t cursor = 0;
  CHECK_FALSE(store->start_trial(study.id, &cursor, "w", [](int, std::vector<TrialRecord>) { return std::nullopt; }));
  CHECK(start(*store, study.id, &cursor, json::object())->number == 0);
  CHECK_THROWS_AS(store->start_trial(study.id, &cursor, "w",
                                     [](int, std::vector<TrialRecord>) -> std::optional<Proposal> {
                                       throw std::runtime_error("searcher bug");
                                     }),
                  std::runtime_error);
  CHECK(start(*store, study.id, &cursor, json::object())->number == 1);  // rolled back
}

TEST_CASE("files that are not Lepton stores are refused and left untouched", "[store]") {
  lepton::test::TempDir dir;
  SECTION("a text file") {
    const std::string path = dir.write("notes.db", "these are my notes, not a database\n");
    CHECK_THROWS_WITH(open_store("sqlite:///" + path), Catch::Contains("not an SQLite database"));
    CHECK(lepton::test::read_file(path) == "these are my notes, not a database\n");
  }
  SECTION("another application's database") {
    sqlite3* db = nullptr;
    sqlite3_open(dir.file("other.db").c_str(), &db);
    sqlite3_exec(db, "CREATE TABLE customers (id INTEGER)", nullptr, nullptr, nullptr);
    sqlite3_close(db);
    CHECK_THROWS_WITH(open_store(dir.sqlite_url("other.db")), Catch::Contains("another application"));
  }
  SECTION("a store written by a newer Lepton") {
    { open_store(dir.sqlite_url()); }
    sqlite3* db = nullptr;
    sqlite3_open(dir.file("study.db").c_str(), &db);
    sqlite3_exec(db, "PRAGMA user_version = 99", nullptr, nullptr, nullptr);
    sqlite3_close(db);
    CHECK_THROWS_WITH(open_store(dir.sqlite_url()),
                      Catch::Contains("store schema 99, this build reads up to " + std::to_string(kSqliteSchemaVersion)));
  }
  SECTION("a missing folder") {
    CHECK_THROWS_WITH(open_store(dir.sqlite_url("absent/study.db")), Catch::Contains("does not exist; create it first"));
    CHECK_FALSE(std::filesystem::exists(dir.file("absent")));
  }
  SECTION("a store that must exist") {
    CHECK_THROWS_WITH(open_store(dir.sqlite_url("nothing.db"), OpenMode::kExisting), Catch::Contains("no study store at"));
    CHECK_FALSE(std::filesystem::exists(dir.file("nothing.db")));
  }
}

TEST_CASE("study attributes hold JSON", "[store]") {
  const std::string backend = GENERATE(from_range(std::begin(lepton::test::kBackends), std::end(lepton::test::kBackends)));
  INFO("store: " << backend);
  lepton::test::AnyStore store(backend);
  const auto study = store->create_study("s", kObjectives, json::object());
  CHECK(store->study_attr(study.id, "trials").is_null());
  store->set_study_attr(study.id, "trials", 20);
  store->set_study_attr(study.id, "state", {{"mean", {1.5, 2.5}}});
  CHECK(store->study_attr(study.id, "trials") == 20);
  CHECK(store->study_attr(study.id, "state")["mean"][1] == 2.5);
}

TEST_CASE("a store of the first schema is upgraded in place and keeps its trials", "[store]") {
  lepton::test::TempDir dir;
  {
    auto store = open_store(dir.sqlite_url());
    const auto study = store->create_study("s", kObjectives, json::object());
    std::int64_t cursor = 0;
    REQUIRE(start(*store, study.id, &cursor, json{{"x", 1}}));
  }
  // Schema 1 (Lepton 0.1) had no start token.
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(dir.file("study.db").c_str(), &db) == SQLITE_OK);
  REQUIRE(sqlite3_exec(db, "ALTER TABLE trials DROP COLUMN token; PRAGMA user_version = 1", nullptr, nullptr, nullptr) ==
          SQLITE_OK);
  sqlite3_close(db);

  auto store = open_store(dir.sqlite_url());
  const auto study = store->find_study("s");
  REQUIRE(study);
  std::int64_t cursor = 0;
  const auto second = start(*store, study->id, &cursor, json{{"x", 2}});
  REQUIRE(second);
  CHECK(second->number == 1);
  CHECK(store->trials(study->id).size() == 2);
  REQUIRE(sqlite3_open(dir.file("study.db").c_str(), &db) == SQLITE_OK);
  sqlite3_stmt* q = nullptr;
  sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &q, nullptr);
  REQUIRE(sqlite3_step(q) == SQLITE_ROW);
  CHECK(sqlite3_column_int(q, 0) == kSqliteSchemaVersion);
  sqlite3_finalize(q);
  sqlite3_close(db);
}
