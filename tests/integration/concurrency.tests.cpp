// Two processes on one SQLite study at once: unique numbers, the shared budget respected, and no
// "database is locked" failure.
#include "store/store.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <memory>
#include <set>

using lepton::json;
using namespace lepton::engine;

TEST_CASE("two processes writing one SQLite study lose and duplicate nothing", "[e2e][concurrency][slow]") {
  lepton::test::TempDir dir;
  json experiment = lepton::test::small_experiment("shared", 30, 1);
  const auto file = dir.write_json("e.json", experiment);
  const std::string url = dir.sqlite_url();

  std::vector<std::unique_ptr<lepton::test::BackgroundProcess>> workers;
  for (int i = 0; i < 2; ++i)
    workers.push_back(std::make_unique<lepton::test::BackgroundProcess>(
        std::vector<std::string>{LEPTON_BIN, "run", file, "--storage", url}, dir.file("worker" + std::to_string(i))));
  for (auto& w : workers) {
    INFO(w->err());
    CHECK(w->wait() == 0);
    CHECK_THAT(w->err(), !Catch::Contains("locked") && !Catch::Contains("busy"));
  }

  auto store = open_store(url, OpenMode::kExisting);
  const auto trials = store->trials(store->find_study("shared")->id);
  REQUIRE(trials.size() == 30);
  std::set<int> numbers;
  std::set<std::string> workers_seen;
  for (const auto& t : trials) {
    numbers.insert(t.number);
    workers_seen.insert(t.worker);
    CHECK(t.state == lepton::TrialState::kComplete);
    CHECK_FALSE(t.params.empty());
  }
  CHECK(numbers.size() == 30);
  CHECK(*numbers.rbegin() == 29);
  CHECK(workers_seen.size() == 2);  // both processes really ran trials
}
