// The PostgreSQL store against a real server started by the test: many workers started at once on
// one study, a worker killed mid-trial and retried by another, a server restart under a running
// study, and the schema checks.
#include "store/postgres_store.hpp"
#include "store/store.hpp"
#include "support/postgres_server.hpp"
#include "support/process.hpp"
#include "support/study_files.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>
#include <signal.h>

#include <memory>
#include <set>

using lepton::json;
using lepton::TrialState;
using lepton::test::BackgroundProcess;
using namespace lepton::engine;

namespace {

std::unique_ptr<BackgroundProcess> start(const std::vector<std::string>& args, const std::string& log,
                                         const std::map<std::string, std::string>& env = {}) {
  std::vector<std::string> full{LEPTON_BIN};
  full.insert(full.end(), args.begin(), args.end());
  return std::make_unique<BackgroundProcess>(full, log, env);
}

}  // namespace

TEST_CASE("four workers started at once share one PostgreSQL study: 100 trials numbered 0..99",
          "[postgres][e2e][slow]") {
  lepton::test::PostgresServer server;
  lepton::test::TempDir dir;
  const auto file = dir.write_json("e.json", lepton::test::quick_experiment("pg-shared", 100));
  // A fresh database: all four race to create the schema; two race to create the study and two
  // wait for it.
  std::vector<std::unique_ptr<BackgroundProcess>> workers;
  for (int i = 0; i < 4; ++i) {
    const std::string log = dir.file("worker" + std::to_string(i));
    if (i < 2) {
      workers.push_back(start({"run", file, "--storage", server.url(), "-q"}, log));
    } else {
      workers.push_back(start({"worker", "--storage", server.url(), "--study", "pg-shared", "-q"}, log));
    }
  }
  for (auto& w : workers) {
    const int code = w->wait();
    INFO(w->err());
    CHECK(code == 0);
    CHECK_THAT(w->err(), !Catch::Contains("error") && !Catch::Contains("deadlock"));
  }
  const auto trials = lepton::test::trials_of(server.url(), "pg-shared");
  REQUIRE(trials.size() == 100);
  std::set<std::string> seen;
  for (std::size_t i = 0; i < trials.size(); ++i) {
    INFO("trial " << trials[i].number << " " << trials[i].error);
    CHECK(trials[i].number == static_cast<int>(i));
    CHECK(trials[i].state == TrialState::kComplete);
    CHECK_FALSE(trials[i].params.empty());
    seen.insert(trials[i].worker);
  }
  CHECK(seen.size() >= 3);  // the work really was shared
  CHECK(server.sql("SELECT count(*) FROM lepton.trials") == "100\n");
}

TEST_CASE("a worker killed mid-trial is failed as stale by another worker and retried", "[postgres][e2e][slow]") {
  lepton::test::PostgresServer server;
  lepton::test::TempDir dir;
  json experiment = lepton::test::small_experiment("pg-stale", 6, 10);
  experiment["heartbeat_grace"] = 2;
  experiment["max_retries"] = 1;
  const auto file = dir.write_json("e.json", experiment);
  // The doomed worker (it creates the study) runs under a name, as a pod on another machine would:
  // the survivors cannot see its process and must notice its silence.
  auto doomed = start({"run", file, "--storage", server.url(), "-q"}, dir.file("doomed"),
                      {{"LEPTON_WORKER_ID", "doomed-pod"}});
  // The survivors print progress lines (no -q): that is where a recovered trial is reported.
  std::vector<std::unique_ptr<BackgroundProcess>> survivors;
  for (int i = 0; i < 2; ++i)
    survivors.push_back(start({"worker", "--storage", server.url(), "--study", "pg-stale"},
                              dir.file("survivor" + std::to_string(i))));
  int victim = -1;
  REQUIRE(lepton::test::wait_until(
      [&] {
        for (const auto& t : lepton::test::trials_of(server.url(), "pg-stale"))
          if (t.worker == "doomed-pod" && t.state == TrialState::kRunning && !t.intermediate.empty()) victim = t.number;
        return victim >= 0;
      },
      std::chrono::seconds(90)));
  doomed->kill(SIGKILL);
  CHECK(doomed->wait() == 128 + SIGKILL);

  for (auto& s : survivors) {
    const int code = s->wait();
    INFO(s->err());
    CHECK(code == 0);
  }
  const auto trials = lepton::test::trials_of(server.url(), "pg-stale");
  const auto& failed = trials.at(static_cast<std::size_t>(victim));
  INFO("victim " << victim << ": " << failed.error);
  CHECK(failed.state == TrialState::kFail);
  CHECK_THAT(failed.error, Catch::StartsWith("stale: no heartbeat from worker doomed-pod for"));
  REQUIRE(failed.attrs.contains("retried_as"));
  const auto& retry = trials.at(failed.attrs["retried_as"].get<std::size_t>());
  CHECK(retry.state == TrialState::kComplete);
  CHECK(retry.attrs["retry_of"] == victim);
  CHECK(retry.params == failed.params);
  CHECK(retry.seed == failed.seed);
  CHECK(retry.worker != "doomed-pod");
  int complete = 0;
  for (const auto& t : trials) {
    complete += t.state == TrialState::kComplete ? 1 : 0;
    if (t.number != victim) CHECK(t.state == TrialState::kComplete);  // the others are unaffected
  }
  CHECK(complete == 6);
  std::string said;
  for (auto& s : survivors) said += s->err();
  CHECK_THAT(said, Catch::Contains("recorded as FAIL (stale") && Catch::Contains("retrying it as trial"));
}

TEST_CASE("a running study survives a PostgreSQL restart", "[postgres][e2e][slow]") {
  lepton::test::PostgresServer server;
  lepton::test::TempDir dir;
  // A budget never reached: the study is surely running when the server goes away, and is stopped
  // with Ctrl-C once it has gone on after the restart.
  const auto file = dir.write_json("e.json", lepton::test::quick_experiment("pg-restart", 100000));
  auto run = start({"run", file, "--storage", server.url(), "-q"}, dir.file("run"));
  auto complete = [&] { return lepton::test::count_state(server.url(), "pg-restart", TrialState::kComplete); };
  REQUIRE(lepton::test::wait_until([&] { return complete() >= 3; }, std::chrono::seconds(90)));
  server.restart();
  const int before = complete();
  REQUIRE(lepton::test::wait_until([&] { return complete() >= before + 5; }, std::chrono::seconds(90)));
  run->kill(SIGINT);
  const int code = run->wait();
  INFO(run->err());
  CHECK(code == 130);
  CHECK_THAT(run->err(), Catch::Contains("lost the connection") && Catch::Contains("reconnected"));
  const auto trials = lepton::test::trials_of(server.url(), "pg-restart");
  REQUIRE(trials.size() >= static_cast<std::size_t>(before + 5));
  for (std::size_t i = 0; i < trials.size(); ++i) {
    INFO("trial " << trials[i].number << " " << trials[i].error);
    CHECK(trials[i].number == static_cast<int>(i));
    CHECK(trials[i].state == TrialState::kComplete);  // the trials in flight at the restart too
    CHECK_FALSE(trials[i].params.empty());
  }
}

TEST_CASE("the PostgreSQL schema is made once and a newer or foreign one is refused", "[postgres][slow]") {
  lepton::test::PostgresServer server;
  {
    auto store = open_store(server.url());
    const auto study = store->create_study("s", {{"val_accuracy", lepton::Direction::kMaximize}}, json::object());
    CHECK(study.id > 0);
    CHECK(std::abs(store->clock() - unix_now()) < 5);  // the server's clock, same host here
  }
  CHECK(server.sql("SELECT value FROM lepton.meta WHERE key = 'schema_version'") ==
        std::to_string(kPostgresSchemaVersion) + "\n");
  open_store(server.url());  // a second opener finds the schema and leaves it be
  CHECK(server.sql("SELECT count(*) FROM lepton.studies") == "1\n");

  server.sql("UPDATE lepton.meta SET value = '99' WHERE key = 'schema_version'");
  CHECK_THROWS_WITH(open_store(server.url()), Catch::Contains("written by a newer Lepton (store schema 99"));
  server.sql("DROP TABLE lepton.meta");
  CHECK_THROWS_WITH(open_store(server.url()), Catch::Contains("tables of another application"));
  CHECK_THROWS_WITH(open_store("postgresql:///postgres?host=/nonexistent&user=lepton"),
                    Catch::Contains("cannot connect to postgresql:///postgres"));
}
