// bench/trial_throughput: Lepton's per-trial engine overhead (random searcher, SQLite, no-op
// objective) and its trial throughput at parallel 1 vs 2 on the quickstart model, each beside
// Optuna 3.1 + PyTorch measured in the same run.
//
//   build/bin/bench_trial_throughput [--overhead-trials 2000] [--throughput-trials 20] [--no-peer]
#include "plugins/registry.hpp"
#include "run/study.hpp"
#include "experiment/experiment.hpp"
#include "store/store.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

using namespace lepton::engine;
using Clock = std::chrono::steady_clock;

namespace {

class Stamps final : public ProgressSink {
 public:
  void trial_finished(const TrialRecord&) override {
    std::lock_guard lock(mutex_);
    times.push_back(Clock::now());
  }
  std::vector<Clock::time_point> times;

 private:
  std::mutex mutex_;
};

std::string temp_dir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "lepton-bench-XXXXXX").string();
  if (!mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
  return pattern;
}

struct Overhead {
  double mean_ms, tail_ms;
};

Overhead lepton_overhead(const Registry& registry, int trials) {
  const std::string dir = temp_dir();
  auto prepared = prepare_experiment(load_experiment(std::string(LEPTON_SOURCE_DIR) + "/experiments/quickstart.json"), registry);
  auto store = open_store("sqlite:///" + dir + "/overhead.db");
  Stamps stamps;
  const Evaluator noop = [](const TrialRecord&, const std::function<bool(int, double)>&) {
    return TrialResult{lepton::TrialState::kComplete, {0.5}, {{"val_accuracy", 0.5}}, "", lepton::json::object(), {}};
  };
  const auto start = Clock::now();
  run_study(prepared, *store, registry, RunOptions{trials, 1}, stamps, "overhead", noop);
  const double total = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  const auto& t = stamps.times;
  const double tail = trials > 100 ? std::chrono::duration<double, std::milli>(t.back() - t[t.size() - 101]).count() / 100
                                   : total / trials;
  std::filesystem::remove_all(dir);
  return {total / trials, tail};
}

// Trials per second of the quickstart study; writes the trials' parameters to `params_file` so the
// peer trains exactly the same configurations.
double lepton_trials_per_second(const Registry& registry, int trials, int parallel, const std::string& params_file) {
  const std::string dir = temp_dir();
  auto prepared = prepare_experiment(load_experiment(std::string(LEPTON_SOURCE_DIR) + "/experiments/quickstart.json"), registry);
  auto store = open_store("sqlite:///" + dir + "/throughput.db");
  Stamps stamps;
  const auto start = Clock::now();
  const auto summary = run_study(prepared, *store, registry, RunOptions{trials, parallel}, stamps, "throughput");
  const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
  lepton::json params = lepton::json::array();
  for (const auto& t : store->trials(summary.study.id)) params.push_back(t.params);
  std::ofstream(params_file) << params.dump();
  std::filesystem::remove_all(dir);
  return trials / seconds;
}

lepton::json peer(const std::string& args) {
  const std::string command = "/usr/bin/python3 " + std::string(LEPTON_PEER_SCRIPT) + " " + args;
  std::unique_ptr<FILE, int (*)(FILE*)> pipe(popen(command.c_str(), "r"), pclose);
  std::string out;
  char buffer[4096];
  while (pipe && fgets(buffer, sizeof buffer, pipe.get())) out += buffer;
  try {
    return lepton::json::parse(out);
  } catch (const std::exception&) {
    std::cerr << "peer failed: " << command << "\n" << out << std::endl;
    return nullptr;
  }
}

std::string cell(double v, int precision = 3) {
  char b[32];
  std::snprintf(b, sizeof b, "%.*f", precision, v);
  return b;
}

}  // namespace

int main(int argc, char** argv) {
  int overhead_trials = 2000, throughput_trials = 20;
  bool with_peer = true;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--overhead-trials" && i + 1 < argc) overhead_trials = std::atoi(argv[++i]);
    else if (a == "--throughput-trials" && i + 1 < argc) throughput_trials = std::atoi(argv[++i]);
    else if (a == "--no-peer") with_peer = false;
    else {
      std::cerr << "usage: bench_trial_throughput [--overhead-trials N] [--throughput-trials N] [--no-peer]\n";
      return 2;
    }
  }
  Registry registry;
  registry.load_default();

  std::cerr << "measuring Lepton overhead over " << overhead_trials << " trials..." << std::endl;
  const Overhead ours = lepton_overhead(registry, overhead_trials);
  std::cerr << "measuring Lepton throughput (" << throughput_trials << " quickstart trials, parallel 1 and 2)..." << std::endl;
  const std::string work = temp_dir();
  const std::string params_file = work + "/params.json";
  const double ours1 = lepton_trials_per_second(registry, throughput_trials, 1, params_file);
  const double ours2 = lepton_trials_per_second(registry, throughput_trials, 2, params_file);

  lepton::json theirs_overhead, theirs1, theirs2;
  if (with_peer) {
    std::cerr << "measuring Optuna 3.1 overhead (SQLite, " << overhead_trials << " trials)..." << std::endl;
    theirs_overhead = peer("overhead " + std::to_string(overhead_trials) + " " + work + "/optuna.db");
    std::cerr << "measuring Optuna + PyTorch throughput on the same configurations (n_jobs 1 and 2)..." << std::endl;
    theirs1 = peer("throughput " + params_file + " 1");
    theirs2 = peer("throughput " + params_file + " 2");
  }
  std::filesystem::remove_all(work);
  auto peer_value = [](const lepton::json& j, const char* key) { return j.is_object() ? j[key].get<double>() : 0.0; };
  auto ratio = [](double a, double b) { return a > 0 && b > 0 ? cell(a / b, 1) + "x" : std::string("-"); };

  std::printf("\n| measurement | Lepton | Optuna 3.1 + PyTorch 1.13 | Lepton advantage |\n|---|---:|---:|---:|\n");
  std::printf("| engine overhead per trial, mean of %d trials (ms) | %s | %s | %s |\n", overhead_trials,
              cell(ours.mean_ms).c_str(), cell(peer_value(theirs_overhead, "mean_ms")).c_str(),
              ratio(peer_value(theirs_overhead, "mean_ms"), ours.mean_ms).c_str());
  std::printf("| engine overhead per trial at trials %d-%d (ms) | %s | %s | %s |\n", overhead_trials - 100, overhead_trials,
              cell(ours.tail_ms).c_str(), cell(peer_value(theirs_overhead, "tail_ms")).c_str(),
              ratio(peer_value(theirs_overhead, "tail_ms"), ours.tail_ms).c_str());
  std::printf("| quickstart trials/s, parallel 1 | %s | %s | %s |\n", cell(ours1, 2).c_str(),
              cell(peer_value(theirs1, "trials_per_s"), 2).c_str(), ratio(ours1, peer_value(theirs1, "trials_per_s")).c_str());
  std::printf("| quickstart trials/s, parallel 2 | %s | %s | %s |\n", cell(ours2, 2).c_str(),
              cell(peer_value(theirs2, "trials_per_s"), 2).c_str(), ratio(ours2, peer_value(theirs2, "trials_per_s")).c_str());
  std::printf("| speed-up of parallel 2 over 1 | %s | %s | |\n", ratio(ours2, ours1).c_str(),
              ratio(peer_value(theirs2, "trials_per_s"), peer_value(theirs1, "trials_per_s")).c_str());
  return 0;
}
