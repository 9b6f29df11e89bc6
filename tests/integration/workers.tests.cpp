// `lepton worker` on SQLite: three processes on one study on one machine, each number taken once,
// no "database is locked"; and a worker that waits for its study, or says what is there.
#include "support/process.hpp"
#include "support/study_files.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <memory>
#include <set>

using lepton::json;
using lepton::test::BackgroundProcess;

TEST_CASE("three worker processes on one SQLite study take unique numbers and never hit a lock",
          "[workers][e2e][slow]") {
  lepton::test::TempDir dir;
  // Trials long enough (60 epochs: about 1.5 s for the study alone) that it outlasts a worker's
  // start-up and 250 ms wait for the study; with a fast BLAS, one process could otherwise finish all 45.
  json experiment = lepton::test::quick_experiment("sqlite-shared", 45);
  experiment["task"]["epochs"] = 60;
  const auto file = dir.write_json("e.json", experiment);
  const std::string url = dir.sqlite_url();
  // The two workers start first and wait for the study; then `run` creates the store and the study.
  std::vector<std::unique_ptr<BackgroundProcess>> workers;
  for (int i = 1; i < 3; ++i)
    workers.push_back(std::make_unique<BackgroundProcess>(
        std::vector<std::string>{LEPTON_BIN, "worker", "--storage", url, "--study", "sqlite-shared", "-q"},
        dir.file("w" + std::to_string(i))));
  workers.push_back(std::make_unique<BackgroundProcess>(std::vector<std::string>{LEPTON_BIN, "run", file, "--storage", url, "-q"},
                                                        dir.file("w0")));
  for (auto& w : workers) {
    const int code = w->wait();
    INFO(w->err());
    CHECK(code == 0);
    CHECK_THAT(w->err(), !Catch::Contains("locked") && !Catch::Contains("busy") && !Catch::Contains("error"));
  }
  const auto trials = lepton::test::trials_of(url, "sqlite-shared");
  REQUIRE(trials.size() == 45);
  std::set<int> numbers;
  std::set<std::string> seen;
  for (const auto& t : trials) {
    numbers.insert(t.number);
    seen.insert(t.worker);
    CHECK(t.state == lepton::TrialState::kComplete);
    CHECK_FALSE(t.params.empty());
  }
  CHECK(numbers.size() == 45);
  CHECK(*numbers.rbegin() == 44);
  CHECK(seen.size() == 3);
}

TEST_CASE("worker and doctor are documented in --help", "[workers][cli][slow]") {
  CHECK_THAT(lepton::test::run_lepton({"--help"}).out, Catch::Contains("worker") && Catch::Contains("doctor") &&
                                                           Catch::Contains("130 stopped by Ctrl-C/SIGTERM"));
  const auto worker = lepton::test::run_lepton({"worker", "--help"});
  CHECK(worker.exit_code == 0);
  CHECK_THAT(worker.out, Catch::Contains("PostgreSQL") && Catch::Contains("Example") && Catch::Contains("--isolation"));
  CHECK_THAT(lepton::test::run_lepton({"doctor", "--help"}).out, Catch::Contains("integrity check"));
}

TEST_CASE("a worker waits for its study and names the studies there when it never comes", "[workers][slow]") {
  lepton::test::TempDir dir;
  const auto none = lepton::test::run_lepton({"worker", "--storage", dir.sqlite_url(), "--study", "x", "--wait", "0.3"});
  CHECK(none.exit_code == 2);
  CHECK_THAT(none.err, Catch::Contains("no study store at"));
  REQUIRE(lepton::test::run_lepton({"run", dir.write_json("e.json", lepton::test::small_experiment("real", 1, 1)),
                                    "--storage", dir.sqlite_url(), "-q"})
              .exit_code == 0);
  const auto typo = lepton::test::run_lepton({"worker", "--storage", dir.sqlite_url(), "--study", "rael", "--wait", "0.5"});
  CHECK(typo.exit_code == 2);
  CHECK_THAT(typo.err, Catch::Contains("waiting up to 0.5 s for study rael") &&
                           Catch::Contains("no study \"rael\"") && Catch::Contains("did you mean \"real\"?"));
  const auto done = lepton::test::run_lepton({"worker", "--storage", dir.sqlite_url(), "--study", "real", "-q"});
  CHECK(done.exit_code == 0);  // the budget is spent: nothing to do, and it says so in its table
  CHECK_THAT(done.out, Catch::Contains("1 trials: 1 complete"));
}
