// bench/distillation: the best distilled 64-16-10 MLP against the same MLP trained alone, over
// seeds; and the searched distillation against Hinton's defaults (T = 4, alpha = 0.7).
//
//   build/bin/bench_distillation [--seeds 5] [--trials 20]
//
// 1. digits_teacher.json: a CNN teacher study; its best trial is the teacher.
// 2. digits_distill.json: the distillation search (temperature, alpha, lr, weight decay).
// 3. The same student alone: the same file as a train task, searching lr and weight decay over
//    the same ranges with the same number of trials.
// 4. Each best configuration (and Hinton's defaults with the alone student's lr and weight decay)
//    retrained with fresh seeds; test accuracy on the held-out test split.
#include "studies.hpp"

#include <cstdio>
#include <cstdlib>
#include <string>

using namespace lepton;
using namespace lepton::engine;

int main(int argc, char** argv) {
  int seeds = 5, trials = 20;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--seeds" && i + 1 < argc) {
      seeds = std::atoi(argv[++i]);
    } else if (a == "--trials" && i + 1 < argc) {
      trials = std::atoi(argv[++i]);
    } else {
      std::fprintf(stderr, "usage: bench_distillation [--seeds N] [--trials N]\n");
      return 2;
    }
  }
  Registry registry;
  registry.load_default();
  bench::ScratchStore store;

  const auto teacher = bench::run_experiment(registry, bench::experiment_file("digits_teacher.json"), store);
  const auto& best_teacher = teacher.best();
  std::printf("teacher: trial %d of %zu, val_accuracy %.4f, test_accuracy %.4f, %s (%.0f s)\n", best_teacher.number,
              teacher.trials.size(), best_teacher.values[0], best_teacher.metrics.at("test_accuracy"),
              bench::params_text(best_teacher.params).c_str(), teacher.seconds);

  json distill = bench::experiment_file("digits_distill.json");
  distill["search"]["trials"] = trials;
  const auto searched = bench::run_experiment(registry, distill, store);
  std::printf("distillation search: best val_accuracy %.4f with %s (%.0f s)\n", searched.best().values[0],
              bench::params_text(searched.best().params).c_str(), searched.seconds);

  json alone = distill;
  alone["name"] = "digits-student-alone";
  alone["task"].erase("teacher");
  alone["task"]["type"] = "train";
  alone["search"]["space"].erase("temperature");
  alone["search"]["space"].erase("alpha");
  const auto tuned_alone = bench::run_experiment(registry, alone, store);
  std::printf("student alone search: best val_accuracy %.4f with %s (%.0f s)\n", tuned_alone.best().values[0],
              bench::params_text(tuned_alone.best().params).c_str(), tuned_alone.seconds);

  std::vector<std::uint64_t> seed_list;
  for (int s = 0; s < seeds; ++s) seed_list.push_back(1000 + static_cast<std::uint64_t>(s));
  const auto alone_runs = bench::repeat(tuned_alone.prepared, registry, tuned_alone.best().params, seed_list);
  const auto distilled_runs = bench::repeat(searched.prepared, registry, searched.best().params, seed_list);
  json hinton = tuned_alone.best().params;
  hinton["temperature"] = 4.0;
  hinton["alpha"] = 0.7;
  const auto hinton_runs = bench::repeat(searched.prepared, registry, hinton, seed_list);

  std::printf("\nMLP 64-16-10 student on digits (test split, %d seeds; mean ± std (min-max)):\n\n", seeds);
  std::printf("| student | test accuracy | val accuracy |\n|---|---|---|\n");
  auto row = [&](const char* name, const std::vector<TrialResult>& runs) {
    std::printf("| %s | %s | %s |\n", name, bench::spread_text(bench::spread(runs, "test_accuracy")).c_str(),
                bench::spread_text(bench::spread(runs, "val_accuracy")).c_str());
  };
  row("trained alone (lr, weight decay searched)", alone_runs);
  row("distilled, Hinton's defaults T=4, alpha=0.7", hinton_runs);
  row("distilled, searched T, alpha, lr, weight decay", distilled_runs);
  const auto a = bench::spread(alone_runs, "test_accuracy");
  const auto d = bench::spread(distilled_runs, "test_accuracy");
  const auto h = bench::spread(hinton_runs, "test_accuracy");
  std::printf("\nsearched distillation - alone: %+.4f (seed-to-seed std: alone %.4f, distilled %.4f) -> %s\n",
              d.mean - a.mean, a.std, d.std, d.mean - a.mean > std::max(a.std, d.std) ? "beats the spread" : "within the spread");
  std::printf("searched distillation - Hinton's defaults: %+.4f\n", d.mean - h.mean);
  std::printf("teacher test accuracy: %.4f\n", best_teacher.metrics.at("test_accuracy"));
  return 0;
}
