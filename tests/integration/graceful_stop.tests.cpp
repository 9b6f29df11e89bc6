// Ctrl-C and SIGTERM: no new trials, running ones end (or are failed as interrupted when the grace
// period runs out), everything is committed, exit code 130; a second Ctrl-C stops at once; resume
// finishes the study.
#include "support/process.hpp"
#include "support/study_files.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>
#include <signal.h>

#include <chrono>
#include <thread>

using lepton::json;
using lepton::TrialState;
using lepton::test::BackgroundProcess;
using Clock = std::chrono::steady_clock;

namespace {

int count(const std::vector<lepton::engine::TrialRecord>& trials, TrialState state) {
  int n = 0;
  for (const auto& t : trials) n += t.state == state ? 1 : 0;
  return n;
}

}  // namespace

TEST_CASE("Ctrl-C lets running trials end, commits, exits 130, and resume finishes", "[stop][e2e][slow]") {
  lepton::test::TempDir dir;
  json experiment = lepton::test::small_experiment("stopped", 40, 8);
  experiment["search"]["parallel"] = 2;
  const auto file = dir.write_json("e.json", experiment);
  const std::string url = dir.sqlite_url();
  BackgroundProcess run({LEPTON_BIN, "run", file, "--storage", url}, dir.file("run"));
  REQUIRE(lepton::test::wait_until([&] { return lepton::test::count_state(url, "stopped", TrialState::kComplete) >= 2; },
                                   std::chrono::seconds(90)));
  run.kill(SIGINT);
  const int code = run.wait();
  INFO(run.err());
  CHECK(code == 130);
  CHECK_THAT(run.err(), Catch::Contains("stopping: no new trials"));
  CHECK_THAT(run.out(), Catch::Contains("Stopped by SIGINT") && Catch::Contains("lepton resume --storage " + url));

  const auto stopped = lepton::test::trials_of(url, "stopped");
  CHECK(count(stopped, TrialState::kRunning) == 0);  // every trial ended and was committed
  CHECK(count(stopped, TrialState::kComplete) == static_cast<int>(stopped.size()));  // short trials end in the grace
  CHECK(stopped.size() < 40);

  const auto resumed = lepton::test::run_lepton({"resume", "--storage", url, "--study", "stopped", "-q"});
  CHECK(resumed.exit_code == 0);
  CHECK(lepton::test::count_state(url, "stopped", TrialState::kComplete) == 40);
}

TEST_CASE("when the grace period runs out, running trials fail as interrupted and are retried on resume",
          "[stop][e2e][isolation][slow]") {
  lepton::test::TempDir dir;
  json experiment = lepton::test::small_experiment("hung", 3, 1);
  experiment["model"] = {{"plugin", "chaos"}};
  experiment["search"]["space"] = {{"behavior", {{"type", "categorical"}, {"choices", {"hang", "ok"}}}}};
  experiment["search"]["searcher"] = "sequence";
  experiment["search"]["options"] = {{"points", {{{"behavior", "hang"}}, {{"behavior", "ok"}}, {{"behavior", "ok"}}}}};
  experiment["isolation"] = "process";
  experiment["stop_grace"] = 1;
  experiment["max_retries"] = 1;
  const auto file = dir.write_json("e.json", experiment);
  const std::string url = dir.sqlite_url();
  const std::map<std::string, std::string> env{{"LEPTON_PLUGIN_PATH", std::string(LEPTON_FIXTURE_DIR) + "/runtime"}};
  BackgroundProcess run({LEPTON_BIN, "run", file, "--storage", url}, dir.file("run"), env);
  REQUIRE(lepton::test::wait_until([&] { return !lepton::test::trials_of(url, "hung").empty(); }, std::chrono::seconds(60)));
  run.kill(SIGTERM);
  const auto signalled = Clock::now();
  const int code = run.wait();
  INFO(run.err());
  CHECK(code == 130);
  CHECK(Clock::now() - signalled < std::chrono::seconds(15));  // 1 s of grace, not the hang's forever
  CHECK_THAT(run.err(), Catch::Contains("grace period over: 1 running trial(s) recorded as FAIL (interrupted)"));

  auto trials = lepton::test::trials_of(url, "hung");
  REQUIRE(trials.size() == 2);
  CHECK(trials[0].state == TrialState::kFail);
  CHECK(trials[0].error == "interrupted");
  CHECK(trials[1].state == TrialState::kWaiting);  // the copy that re-runs it
  CHECK(trials[1].attrs["retry_of"] == 0);

  // Resume claims the retry before anything new (it hangs again: the hang is the plugin's, so
  // stop it once more and look only at the order).
  BackgroundProcess resume({LEPTON_BIN, "resume", "--storage", url, "--study", "hung"}, dir.file("resume"), env);
  REQUIRE(lepton::test::wait_until([&] { return lepton::test::count_state(url, "hung", TrialState::kRunning) == 1; },
                                   std::chrono::seconds(60)));
  CHECK(lepton::test::trials_of(url, "hung")[1].state == TrialState::kRunning);
  resume.kill(SIGINT);
  CHECK(resume.wait() == 130);
}

TEST_CASE("a second Ctrl-C stops at once", "[stop][e2e][slow]") {
  lepton::test::TempDir dir;
  json experiment = lepton::test::small_experiment("impatient", 10, 400);
  experiment["stop_grace"] = 120;
  const auto file = dir.write_json("e.json", experiment);
  const std::string url = dir.sqlite_url();
  BackgroundProcess run({LEPTON_BIN, "run", file, "--storage", url}, dir.file("run"));
  REQUIRE(lepton::test::wait_until(
      [&] {
        const auto t = lepton::test::trials_of(url, "impatient");
        return !t.empty() && !t[0].intermediate.empty();
      },
      std::chrono::seconds(60)));
  run.kill(SIGINT);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const auto second = Clock::now();
  run.kill(SIGINT);
  CHECK(run.wait() == 130);
  CHECK(Clock::now() - second < std::chrono::seconds(3));
  // Nothing was waited for: the trial is still RUNNING, and known to be orphaned.
  const auto doctor = lepton::test::run_lepton({"doctor", "--storage", url, "--json"});
  INFO(doctor.err);
  REQUIRE(doctor.exit_code == 0);
  const json report = json::parse(doctor.out);
  REQUIRE(report["studies"][0]["abandoned"].size() == 1);
  CHECK(report["studies"][0]["abandoned"][0]["reason"] == "interrupted");
}
