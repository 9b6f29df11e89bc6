// Crash safety: `kill -9` halfway through a study, then `lepton resume`. No completed trial is lost
// or repeated, the trials that were running are recorded as interrupted, numbering continues.
#include "store/store.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>
#include <signal.h>
#include <sqlite3.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <thread>

using lepton::json;
using lepton::TrialState;
using namespace lepton::engine;

namespace {

int count_complete(const std::string& url, const std::string& study) {
  try {
    auto store = open_store(url, OpenMode::kExisting);
    const auto s = store->find_study(study);
    if (!s) return 0;
    int n = 0;
    for (const auto& t : store->trials(s->id)) n += t.state == TrialState::kComplete ? 1 : 0;
    return n;
  } catch (const std::exception&) {
    return 0;  // not created yet
  }
}

std::string integrity(const std::string& path) {
  sqlite3* db = nullptr;
  sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr);
  sqlite3_stmt* stmt = nullptr;
  sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &stmt, nullptr);
  std::string result = sqlite3_step(stmt) == SQLITE_ROW ? reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0)) : "";
  sqlite3_finalize(stmt);
  sqlite3_close(db);
  return result;
}

}  // namespace

TEST_CASE("a study killed with SIGKILL halfway is finished by resume", "[e2e][resume][slow]") {
  lepton::test::TempDir dir;
  json experiment = lepton::test::small_experiment("killed", 12, 40);
  experiment["search"]["parallel"] = 2;
  const auto file = dir.write_json("e.json", experiment);
  const std::string url = dir.sqlite_url();

  lepton::test::BackgroundProcess run({LEPTON_BIN, "run", file, "--storage", url}, dir.file("run"));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (count_complete(url, "killed") < 4 && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  run.kill(SIGKILL);
  CHECK(run.wait() == 128 + SIGKILL);
  INFO(run.err());

  std::map<int, TrialRecord> before;
  {
    auto store = open_store(url, OpenMode::kExisting);
    for (const auto& t : store->trials(store->find_study("killed")->id)) before[t.number] = t;
  }
  int completed_before = 0, running_before = 0;
  for (const auto& [n, t] : before) {
    completed_before += t.state == TrialState::kComplete ? 1 : 0;
    running_before += t.state == TrialState::kRunning ? 1 : 0;
  }
  REQUIRE(completed_before >= 4);
  REQUIRE(completed_before < 12);
  REQUIRE(integrity(dir.file("study.db")) == "ok");

  const auto resumed = lepton::test::run_lepton({"resume", "--storage", url, "--study", "killed"});
  INFO(resumed.err);
  REQUIRE(resumed.exit_code == 0);
  CHECK(running_before >= 1);  // killed mid-trial, with two trials in flight
  CHECK_THAT(resumed.err, Catch::Contains("recorded as FAIL (interrupted)"));

  auto store = open_store(url, OpenMode::kExisting);
  const auto after = store->trials(store->find_study("killed")->id);
  int complete = 0, interrupted = 0;
  for (std::size_t i = 0; i < after.size(); ++i) {
    const auto& t = after[i];
    INFO("trial " << t.number);
    CHECK(t.number == static_cast<int>(i));  // numbering is contiguous and unique
    CHECK_FALSE(t.params.empty());
    const auto old = before.find(t.number);
    if (old != before.end() && old->second.state == TrialState::kComplete) {
      CHECK(t.state == TrialState::kComplete);  // kept, not repeated
      CHECK(t.values == old->second.values);
      CHECK(t.params == old->second.params);
    }
    if (old != before.end() && old->second.state == TrialState::kRunning) {
      CHECK(t.state == TrialState::kFail);
      CHECK(t.error == "interrupted");
    }
    complete += t.state == TrialState::kComplete ? 1 : 0;
    interrupted += t.error == "interrupted" ? 1 : 0;
  }
  CHECK(interrupted == running_before);
  CHECK(complete == 12);  // interrupted trials do not use up the budget
  CHECK(after.size() == static_cast<std::size_t>(12 + interrupted));
  CHECK(integrity(dir.file("study.db")) == "ok");
}
