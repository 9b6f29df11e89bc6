// bench/isolation: trials per second of the quickstart study with process isolation, a fresh
// process per trial (how Lepton isolated trials before trial processes were reused) beside reused
// trial processes, with threads as the reference; the same trials, seeds and scheduler in one run.
//
//   build/bin/bench_isolation [--trials 20] [--parallel 2] [--repeats 3]
#include "plugins/registry.hpp"
#include "run/isolation.hpp"
#include "run/study.hpp"
#include "experiment/experiment.hpp"
#include "store/store.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

using namespace lepton::engine;

namespace {

enum class Mode { kThread, kFreshProcess, kReusedProcess };

// Seconds for one quickstart study of `trials` trials in `mode`.
double study_seconds(const Registry& registry, Mode mode, int trials, int parallel) {
  char pattern[] = "/tmp/lepton-bench-isolation-XXXXXX";
  if (!mkdtemp(pattern)) throw std::runtime_error("mkdtemp failed");
  const std::string dir = pattern;
  Experiment experiment = load_experiment(std::string(LEPTON_SOURCE_DIR) + "/experiments/quickstart.json");
  experiment.execution.isolation = mode == Mode::kReusedProcess ? Isolation::kProcess : Isolation::kThread;
  const PreparedExperiment prepared = prepare_experiment(experiment, registry);
  auto store = open_store("sqlite:///" + dir + "/study.db");
  RunOptions options{trials, parallel};
  options.trial_executable = LEPTON_BIN;
  Evaluator evaluator;
  if (mode == Mode::kFreshProcess) {
    ExecutionSection execution = experiment.execution;
    execution.isolation = Isolation::kProcess;
    TrialProcessOptions process = isolation_options(execution, registry, LEPTON_BIN);
    process.torch_threads = torch_threads_per_trial(parallel);
    evaluator = [&, process, spec = study_spec(experiment)](const TrialRecord& trial, const EpochReport& report) {
      return run_trial_in_process(spec, trial, report, process);
    };
  }
  ProgressSink quiet;
  const auto start = std::chrono::steady_clock::now();
  const RunSummary summary = run_study(prepared, *store, registry, options, quiet, "isolation", evaluator);
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  int complete = 0;
  for (const auto& t : store->trials(summary.study.id)) complete += t.state == lepton::TrialState::kComplete;
  std::filesystem::remove_all(dir);
  if (complete != trials) throw std::runtime_error("only " + std::to_string(complete) + " trials completed");
  return seconds;
}

}  // namespace

int main(int argc, char** argv) {
  int trials = 20, parallel = 2, repeats = 3;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--trials")) trials = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--parallel")) parallel = std::atoi(argv[i + 1]);
    else if (!std::strcmp(argv[i], "--repeats")) repeats = std::atoi(argv[i + 1]);
  }
  Registry registry;
  registry.load_default();
  std::printf("Quickstart study (breast cancer, MLP, 30 epochs), %d trials, parallel %d, median of %d runs\n\n", trials,
              parallel, repeats);
  std::printf("| isolation | trials/s | runs (s) | vs a fresh process per trial |\n|---|---|---|---|\n");
  double fresh = 0;
  for (const auto& [mode, name] : {std::pair{Mode::kFreshProcess, "process, a fresh process per trial (before)"},
                                   {Mode::kReusedProcess, "process, reused trial processes (now)"},
                                   {Mode::kThread, "thread"}}) {
    std::vector<double> runs;
    for (int r = 0; r < repeats; ++r) runs.push_back(study_seconds(registry, mode, trials, parallel));
    std::vector<double> sorted = runs;
    std::sort(sorted.begin(), sorted.end());
    const double rate = trials / sorted[sorted.size() / 2];
    if (mode == Mode::kFreshProcess) fresh = rate;
    std::string list;
    for (const double s : runs) list += (list.empty() ? "" : ", ") + std::to_string(s).substr(0, 5);
    std::printf("| %s | %.2f | %s | %.2fx |\n", name, rate, list.c_str(), rate / fresh);
    std::fflush(stdout);
  }
  return 0;
}
