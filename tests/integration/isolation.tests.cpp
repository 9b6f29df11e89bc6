// Process isolation: plugins that throw, crash, abort, hang, leak or exit fail only their own trial,
// with the cause as the reason; the study completes and no trial process is left behind.
#include "plugins/registry.hpp"
#include "run/isolation.hpp"
#include "run/study.hpp"
#include "support/process.hpp"
#include "support/study_files.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>
#include <sys/wait.h>

#include <cerrno>
#include <filesystem>
#include <fstream>
#include <map>

using lepton::json;
using lepton::TrialState;
using namespace lepton::engine;

namespace {

const std::string kRuntimeFixtures = std::string(LEPTON_FIXTURE_DIR) + "/runtime";

json chaos_experiment(const std::string& name, const std::vector<std::string>& behaviors) {
  json experiment = lepton::test::small_experiment(name, static_cast<int>(behaviors.size()), 2);
  json points = json::array();
  for (const auto& b : behaviors) points.push_back({{"behavior", b}});
  experiment["model"] = {{"plugin", "chaos"}};
  experiment["search"]["searcher"] = "sequence";
  experiment["search"]["parallel"] = 2;
  experiment["search"]["options"] = {{"points", points}};
  experiment["search"]["space"] = {
      {"behavior",
       {{"type", "categorical"}, {"choices", {"ok", "throw", "segfault", "abort", "hang", "leak", "exit"}}}}};
  experiment["isolation"] = "process";
  experiment["trial_timeout"] = 8;
  experiment["trial_memory_limit"] = "1GiB";
  return experiment;
}

// The chaos study on the breast-cancer data, for driving trial processes directly.
Experiment chaos_study(const std::string& name) {
  json document = chaos_experiment(name, {"ok"});
  document["dataset"]["path"] = std::string(LEPTON_DATA_DIR) + "/breast_cancer.csv";
  return parse_experiment(document, {});
}

TrialProcessOptions chaos_process_options() {
  TrialProcessOptions options;
  options.executable = LEPTON_BIN;
  options.plugin_folders = {Registry::default_search_path().front(), kRuntimeFixtures};
  options.timeout = 30;
  return options;
}

// Processes whose command line holds every one of `words`.
std::vector<int> processes_with(const std::vector<std::string>& words) {
  std::vector<int> out;
  for (const auto& entry : std::filesystem::directory_iterator("/proc")) {
    const std::string pid = entry.path().filename().string();
    if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string cmdline = lepton::test::read_file(entry.path().string() + "/cmdline");
    for (auto& c : cmdline) c = c == '\0' ? ' ' : c;
    bool all = !cmdline.empty();
    for (const auto& w : words) all = all && cmdline.find(w) != std::string::npos;
    if (all) out.push_back(std::stoi(pid));
  }
  return out;
}

}  // namespace

TEST_CASE("misbehaving plugins fail only their own trial under process isolation", "[e2e][isolation][slow]") {
  lepton::test::TempDir dir;
  const std::vector<std::string> behaviors{"ok", "throw", "segfault", "abort", "hang", "leak", "exit", "ok"};
  const auto file = dir.write_json("e.json", chaos_experiment("chaos", behaviors));
  lepton::test::BackgroundProcess run({LEPTON_BIN, "run", file, "--storage", dir.sqlite_url()}, dir.file("run"),
                                      {{"LEPTON_PLUGIN_PATH", kRuntimeFixtures}});
  const int code = run.wait();
  INFO(run.err());
  REQUIRE(code == 0);
  CHECK(processes_with({"__trial", "--parent " + std::to_string(run.pid())}).empty());  // nothing left behind

  const auto trials = lepton::test::trials_of(dir.sqlite_url(), "chaos");
  REQUIRE(trials.size() == behaviors.size());
  const std::map<std::string, std::string> reason{
      {"throw", "model chaos: chaos: thrown on purpose"},
      {"segfault", "the trial process was killed by SIGSEGV (Segmentation fault)"},
      {"abort", "the trial process was killed by SIGABRT (Aborted)"},
      {"hang", "timeout: the trial ran longer than trial_timeout (8 s)"},
      {"leak", "memory limit exceeded: the trial process used "},
      {"exit", "the trial process exited with code 3 without a result"}};
  for (const auto& t : trials) {
    const std::string behavior = t.params.at("behavior");
    INFO("trial " << t.number << " " << behavior << ": " << t.error);
    if (behavior == "ok") {
      CHECK(t.state == TrialState::kComplete);
      CHECK(t.intermediate.size() == 2);  // epoch reports crossed the pipe
      CHECK(t.metrics.count("test_accuracy") == 1);
    } else {
      CHECK(t.state == TrialState::kFail);
      CHECK_THAT(t.error, Catch::StartsWith(reason.at(behavior)));
    }
  }
  CHECK_THAT(run.err(), Catch::Contains("trial 2 FAIL") && Catch::Contains("reason: the trial process was killed by SIGSEGV"));
}

TEST_CASE("a trial process gives the same results as a thread", "[e2e][isolation][slow]") {
  lepton::test::TempDir dir;
  json experiment = lepton::test::small_experiment("same", 3, 3);
  const auto file = dir.write_json("e.json", experiment);
  for (const char* isolation : {"thread", "process"}) {
    const auto r = lepton::test::run_lepton(
        {"run", file, "--storage", dir.sqlite_url(std::string(isolation) + ".db"), "--isolation", isolation, "-q"});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
  }
  const auto threads = lepton::test::trials_of(dir.sqlite_url("thread.db"), "same");
  const auto processes = lepton::test::trials_of(dir.sqlite_url("process.db"), "same");
  REQUIRE(threads.size() == 3);
  REQUIRE(processes.size() == 3);
  for (std::size_t i = 0; i < 3; ++i) {
    CHECK(processes[i].state == TrialState::kComplete);
    CHECK(processes[i].params == threads[i].params);
    CHECK(processes[i].values == threads[i].values);
    CHECK(processes[i].intermediate == threads[i].intermediate);
  }
}

TEST_CASE("the supervisor reaps every trial process, whatever it did", "[isolation][slow]") {
  const Experiment experiment = chaos_study("reap");
  TrialProcessOptions options = chaos_process_options();
  TrialRecord trial;
  trial.seed = 5;
  int reports = 0;
  const EpochReport report = [&](int, double) { return ++reports >= 1; };  // prune after the first epoch

  trial.params = {{"behavior", "ok"}};
  const TrialResult pruned = run_trial_in_process(study_spec(experiment), trial, report, options);
  CHECK(pruned.state == TrialState::kPruned);  // the parent's decision reached the child
  CHECK(reports == 1);

  trial.params = {{"behavior", "segfault"}};
  CHECK_THAT(run_trial_in_process(study_spec(experiment), trial, report, options).error, Catch::Contains("SIGSEGV"));

  trial.params = {{"behavior", "hang"}};
  const auto started = std::chrono::steady_clock::now();
  options.abandon = [&] { return std::chrono::steady_clock::now() - started > std::chrono::milliseconds(300); };
  const TrialResult abandoned = run_trial_in_process(study_spec(experiment), trial, report, options);
  CHECK(abandoned.error == "interrupted");
  CHECK(std::chrono::steady_clock::now() - started < std::chrono::seconds(20));

  errno = 0;
  CHECK(waitpid(-1, nullptr, WNOHANG) == -1);  // no child left, zombie or running
  CHECK(errno == ECHILD);
}

TEST_CASE("a trial process prepares once and runs trial after trial until one crashes", "[isolation]") {
  const Experiment experiment = chaos_study("reuse");
  const TrialProcessOptions options = chaos_process_options();
  const EpochReport report = [](int, double) { return false; };
  TrialProcessPool pool(study_spec(experiment), options);
  auto run = [&](int number, const std::string& behavior) {
    TrialRecord trial;
    trial.number = number;
    trial.seed = 11 + static_cast<std::uint64_t>(number);
    trial.params = {{"behavior", behavior}};
    return pool.run(trial, report);
  };
  CHECK(run(0, "ok").state == TrialState::kComplete);
  CHECK(run(1, "throw").state == TrialState::kFail);  // an exception is a result: the process stays
  const TrialResult third = run(2, "ok");  // the third trial of the same process
  CHECK(third.state == TrialState::kComplete);
  CHECK(pool.processes_started() == 1);
  CHECK_THAT(run(3, "segfault").error, Catch::Contains("SIGSEGV"));
  const TrialResult after = run(4, "ok");  // in a new process, prepared again
  CHECK(after.state == TrialState::kComplete);
  CHECK(pool.processes_started() == 2);
  // A trial gives the same values in a process of its own as after other trials in a reused one.
  TrialRecord again;
  again.number = 2;
  again.seed = 13;
  again.params = {{"behavior", "ok"}};
  CHECK(run_trial_in_process(study_spec(experiment), again, report, options).values == third.values);
}
