// kill -9 at random moments, over and over, most of them in the middle of the store's commits (short
// trials commit several times each): the database always opens and passes SQLite's integrity
// check, no completed trial is ever lost or changed, and every trial has its params.
#include "support/process.hpp"
#include "support/study_files.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>
#include <signal.h>

#include <filesystem>
#include <map>
#include <random>
#include <thread>

using lepton::json;
using lepton::TrialState;

TEST_CASE("kill -9 at random moments never damages the store or loses a completed trial", "[crash][e2e][slow]") {
  lepton::test::TempDir dir;
  json experiment = lepton::test::quick_experiment("crashes", 100000);  // a budget never reached
  experiment["search"]["parallel"] = 2;
  const auto file = dir.write_json("e.json", experiment);
  const std::string url = dir.sqlite_url();
  std::mt19937 random(20261124);
  std::map<int, std::vector<double>> completed;  // every COMPLETE trial ever seen, with its values
  int interrupted_seen = 0;
  constexpr int kKills = 22;
  for (int round = 0; round < kKills; ++round) {
    INFO("round " << round);
    lepton::test::BackgroundProcess run({LEPTON_BIN, "run", file, "--storage", url, "-q"},
                                        dir.file("run" + std::to_string(round)));
    // One round in three lands anywhere from start-up on (opening, schema creation, recovery);
    // the others land once trials are flowing, where nearly every moment is inside a commit.
    if (round % 3 == 0) {
      std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(0, 1500)(random)));
    } else {
      const std::size_t before = lepton::test::trials_of(url, "crashes").size();
      REQUIRE(lepton::test::wait_until([&] { return lepton::test::trials_of(url, "crashes").size() > before + 1; },
                                       std::chrono::seconds(60)));
      std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(0, 300)(random)));
    }
    run.kill(SIGKILL);
    REQUIRE(run.wait() == 128 + SIGKILL);

    if (!std::filesystem::exists(dir.file("study.db"))) continue;
    REQUIRE(lepton::test::sqlite_integrity(dir.file("study.db")) == "ok");
    const auto trials = lepton::test::trials_of(url, "crashes");  // opens with the real store
    for (std::size_t i = 0; i < trials.size(); ++i) {
      const auto& t = trials[i];
      INFO("trial " << t.number << " " << lepton::to_string(t.state) << " " << t.error);
      CHECK(t.number == static_cast<int>(i));
      CHECK(t.params.contains("lr"));  // params land in the same transaction as the trial
      const auto before = completed.find(t.number);
      if (before != completed.end()) {
        CHECK(t.state == TrialState::kComplete);
        CHECK(t.values == before->second);
      }
      if (t.state == TrialState::kComplete) {
        CHECK(t.values.size() == 1);
        completed[t.number] = t.values;
      }
      interrupted_seen += t.error == "interrupted" ? 1 : 0;
    }
  }
  CHECK(completed.size() >= 20);   // the study made progress between the kills
  CHECK(interrupted_seen >= 1);    // and some kills landed mid-trial
  const auto doctor = lepton::test::run_lepton({"doctor", "--storage", url});
  CHECK(doctor.exit_code == 0);
  CHECK_THAT(doctor.out, Catch::Contains("integrity check ok"));
}
