// bench/pruning: ASHA (and the median rule) against no pruning at an equal trial count: the
// epochs spent and the best value found. Parallel 1, so every run sees the same history order.
//
//   build/bin/bench_pruning [--trials 40] [--epochs 27] [--seeds 3]
#include "studies.hpp"

#include <cstdio>
#include <cstdlib>
#include <string>

using namespace lepton;
using namespace lepton::engine;

namespace {

json digits_search(int trials, int epochs, std::uint64_t seed) {
  json e = json::parse(R"({
    "name": "pruning",
    "dataset": {"plugin": "csv", "path": "data/digits.csv.gz", "scale": 0.0625,
                "split": {"valid": 0.2, "test": 0.2, "seed": 0}},
    "model": {"plugin": "mlp"},
    "task": {"type": "train", "objective": {"metric": "val_accuracy", "direction": "maximize"}},
    "search": {"searcher": "random", "parallel": 1,
               "space": {"lr":         {"type": "float", "low": 1e-4, "high": 3e-1, "log": true},
                         "optimizer":  {"type": "categorical", "choices": ["adam", "sgd"]},
                         "momentum":   {"type": "float", "low": 0.0, "high": 0.95, "when": {"optimizer": ["sgd"]}},
                         "batch_size": {"type": "categorical", "choices": [16, 32, 64]},
                         "layers":     {"type": "int", "low": 1, "high": 3},
                         "hidden":     {"type": "int", "low": 8, "high": 256, "log": true},
                         "dropout":    {"type": "float", "low": 0.0, "high": 0.5}}}
  })");
  e.merge_patch({{"task", {{"epochs", epochs}}}, {"search", {{"trials", trials}, {"seed", seed}}}});
  return e;
}

}  // namespace

int main(int argc, char** argv) {
  int trials = 40, epochs = 27, seeds = 3;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&] { return i + 1 < argc ? std::atoi(argv[++i]) : 0; };
    if (a == "--trials") {
      trials = next();
    } else if (a == "--epochs") {
      epochs = next();
    } else if (a == "--seeds") {
      seeds = next();
    } else {
      std::fprintf(stderr, "usage: bench_pruning [--trials N] [--epochs N] [--seeds N]\n");
      return 2;
    }
  }
  Registry registry;
  registry.load_default();
  std::printf("Random search of an MLP on digits: %d trials of up to %d epochs each, parallel 1\n\n", trials, epochs);
  std::printf("| study seed | pruner | epochs spent | share of no pruning | pruned trials | best val accuracy | its test accuracy | time (s) |\n");
  std::printf("|---|---|---:|---:|---:|---:|---:|---:|\n");
  std::int64_t total_none = 0, total_asha = 0;
  double worst_gap = 0;
  for (int s = 0; s < seeds; ++s) {
    std::int64_t none_epochs = 0;
    double none_best = 0;
    for (const json& pruner : {json{{"type", "none"}}, json{{"type", "asha"}, {"min_epochs", 1}, {"reduction_factor", 3}},
                              json{{"type", "median"}, {"warmup_epochs", 3}, {"min_trials", 5}}}) {
      json e = digits_search(trials, epochs, 100 + static_cast<std::uint64_t>(s));
      e["name"] = "pruning-" + pruner["type"].get<std::string>() + "-" + std::to_string(s);
      e["pruner"] = pruner;
      bench::ScratchStore store;
      const auto outcome = bench::run_experiment(registry, e, store);
      int pruned = 0;
      for (const auto& t : outcome.trials) pruned += t.state == TrialState::kPruned;
      const auto& best = outcome.best();
      const std::string type = pruner["type"];
      if (type == "none") {
        none_epochs = outcome.epochs();
        none_best = best.values[0];
        total_none += none_epochs;
      } else if (type == "asha") {
        total_asha += outcome.epochs();
        worst_gap = std::max(worst_gap, none_best - best.values[0]);
      }
      std::printf("| %d | %s | %lld | %.0f%% | %d | %.4f | %.4f | %.1f |\n", 100 + s, type.c_str(),
                  static_cast<long long>(outcome.epochs()), 100.0 * static_cast<double>(outcome.epochs()) / static_cast<double>(none_epochs),
                  pruned, best.values[0], best.metrics.at("test_accuracy"), outcome.seconds);
    }
  }
  std::printf("\nASHA spent %.0f%% of the epochs of no pruning over all seeds; its best val accuracy was at most %.2f points below\n",
              100.0 * static_cast<double>(total_asha) / static_cast<double>(total_none), 100 * worst_gap);
  return 0;
}
