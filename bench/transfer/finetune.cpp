// bench/finetune: fine-tuning against training from scratch on a small target set, at the same
// epoch budget and the same search effort, over seeds.
//
//   build/bin/bench_finetune [--seeds 5] [--source FILE] [--target FILE]
//
// 1. The source study (default experiments/fashion_source.json); its best trial is the source.
// 2. The fine-tuning search (default experiments/fashion_finetune.json).
// 3. From scratch: the same target data and epochs, the source's architecture, a train task
//    searching lr and dropout with the same number of trials.
// 4. Both best configurations retrained with fresh seeds; accuracy on the test split.
#include "studies.hpp"

#include "train/tasks/task.hpp"

#include <cstdio>
#include <cstdlib>
#include <string>

using namespace lepton;
using namespace lepton::engine;

int main(int argc, char** argv) {
  int seeds = 5;
  std::string source_file = "fashion_source.json", target_file = "fashion_finetune.json";
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--seeds" && i + 1 < argc) {
      seeds = std::atoi(argv[++i]);
    } else if (a == "--source" && i + 1 < argc) {
      source_file = argv[++i];
    } else if (a == "--target" && i + 1 < argc) {
      target_file = argv[++i];
    } else {
      std::fprintf(stderr, "usage: bench_finetune [--seeds N] [--source FILE] [--target FILE] (files in experiments/)\n");
      return 2;
    }
  }
  Registry registry;
  registry.load_default();
  bench::ScratchStore store;

  const auto source = bench::run_experiment(registry, bench::experiment_file(source_file), store);
  std::printf("source (%s): best val_accuracy %.4f with %s (%.0f s)\n", source_file.c_str(), source.best().values[0],
              bench::params_text(source.best().params).c_str(), source.seconds);

  const json target = bench::experiment_file(target_file);
  const auto tuned = bench::run_experiment(registry, target, store);
  std::printf("fine-tuning search (%s): best val_accuracy %.4f with %s (%.0f s)\n", target_file.c_str(),
              tuned.best().values[0], bench::params_text(tuned.best().params).c_str(), tuned.seconds);

  // From scratch: the source's network, untrained, on the same target data and epochs.
  json scratch = target;
  scratch["name"] = "from-scratch";
  scratch["task"] = {{"type", "train"},
                     {"epochs", target["task"]["epochs"]},
                     {"batch_size", target["task"].value("batch_size", 32)},
                     {"objective", target["task"]["objective"]}};
  const ModelCard& card = tuned.prepared.task->source->card;
  scratch["model"] = card.model_params;
  scratch["model"]["plugin"] = card.model_plugin;
  const json lr = target["search"]["space"]["lr"];
  scratch["model"].erase("dropout");
  scratch["search"]["space"] = {{"lr", lr}, {"dropout", {{"type", "float"}, {"low", 0.0}, {"high", 0.5}}}};
  const auto from_scratch = bench::run_experiment(registry, scratch, store);
  std::printf("from-scratch search: best val_accuracy %.4f with %s (%.0f s)\n", from_scratch.best().values[0],
              bench::params_text(from_scratch.best().params).c_str(), from_scratch.seconds);

  std::vector<std::uint64_t> seed_list;
  for (int s = 0; s < seeds; ++s) seed_list.push_back(2000 + static_cast<std::uint64_t>(s));
  const auto tuned_runs = bench::repeat(tuned.prepared, registry, tuned.best().params, seed_list);
  const auto scratch_runs = bench::repeat(from_scratch.prepared, registry, from_scratch.best().params, seed_list);
  const auto& data = *tuned.prepared.data;
  std::printf("\nTarget: %zu classes, %lld training samples, %lld epochs; test split of %lld (%d seeds; mean ± std (min-max)):\n\n",
              data.class_names.size(), static_cast<long long>(data.train.size()),
              static_cast<long long>(target["task"]["epochs"].get<int>()), static_cast<long long>(data.test.size()), seeds);
  std::printf("| training | test accuracy | val accuracy |\n|---|---|---|\n");
  std::printf("| from scratch (lr, dropout searched) | %s | %s |\n",
              bench::spread_text(bench::spread(scratch_runs, "test_accuracy")).c_str(),
              bench::spread_text(bench::spread(scratch_runs, "val_accuracy")).c_str());
  std::printf("| fine-tuned from the source (searched) | %s | %s |\n",
              bench::spread_text(bench::spread(tuned_runs, "test_accuracy")).c_str(),
              bench::spread_text(bench::spread(tuned_runs, "val_accuracy")).c_str());
  const auto f = bench::spread(tuned_runs, "test_accuracy");
  const auto s = bench::spread(scratch_runs, "test_accuracy");
  std::printf("\nfine-tuned - from scratch: %+.4f test accuracy\n", f.mean - s.mean);
  return 0;
}
