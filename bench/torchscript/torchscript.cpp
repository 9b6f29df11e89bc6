// bench/torchscript: (1) one training step of the same small CNN as a TorchScript file (the
// torchscript plugin), as the first-party cnn plugin (both through Lepton's trainer) and in
// PyTorch from Python, measured in one run; (2) a linear-probe study on Fashion-MNIST from a
// trained TorchScript source, with and without the frozen backbone's feature cache: trials/s.
//
//   build/bin/bench_torchscript [--rows 2048] [--epochs 5] [--repeats 3] [--trials 8] [--no-peer]
#include "studies.hpp"

#include "plugins/registry.hpp"
#include "train/trainer.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

using namespace lepton::engine;
using lepton::json;
using Clock = std::chrono::steady_clock;

namespace {

const char* const kFashion = "/usr/share/datasets/fashion-mnist";

struct Options {
  int rows = 2048, epochs = 5, repeats = 3, trials = 8, batch = 64;
  bool peer = true;
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

void run_python(const std::vector<std::string>& args, const std::string& output = "") {
  std::string command = std::string(LEPTON_PYTHON) + " " + LEPTON_PEER_SCRIPT;
  for (const auto& a : args) command += " " + a;
  if (!output.empty()) command += " > " + output;
  if (std::system(command.c_str()) != 0) throw std::runtime_error("the PyTorch side failed: " + command);
}

// Milliseconds per step of Lepton's trainer on the network `model` builds from `params`.
double lepton_step(const Registry& registry, const std::string& model, const json& params, const lepton::Split& train,
                   const Options& o, std::uint64_t seed) {
  lepton::TrialGeneratorScope random(seed);
  lepton::ModelRequest request;
  request.params = params;
  request.shape = {{1, 28, 28}, 10};
  auto net = build_network(registry.model(model), model, request, seed);
  TrainSettings settings;
  settings.batch_size = o.batch;
  TrainingRun run(net, train, settings, all_parameters(*net));
  run.train_epoch(1);  // warm-up (the TorchScript executor profiles its first runs)
  const auto start = Clock::now();
  for (int e = 2; e <= o.epochs + 1; ++e) run.train_epoch(e);
  const double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  return ms / static_cast<double>((train.size() + o.batch - 1) / o.batch * o.epochs);
}

std::vector<double> pytorch_steps(const lepton::Split& train, const Options& o, const std::string& dir) {
  const auto x = train.x.contiguous();
  const auto y = train.y.contiguous();
  std::ofstream(dir + "/x.bin", std::ios::binary).write(static_cast<const char*>(x.data_ptr()), x.numel() * 4);
  std::ofstream(dir + "/y.bin", std::ios::binary).write(static_cast<const char*>(y.data_ptr()), y.numel() * 8);
  run_python({"time", dir + "/x.bin", dir + "/y.bin", std::to_string(train.size()), std::to_string(o.batch),
              std::to_string(o.epochs), std::to_string(o.repeats)},
             dir + "/peer.json");
  return json::parse(std::ifstream(dir + "/peer.json")).at("ms_per_step").get<std::vector<double>>();
}

json fashion(const std::vector<std::string>& classes, int train, int valid) {
  return {{"plugin", "idx"},
          {"path", kFashion},
          {"class_names", {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"}},
          {"standardize", true},
          {"split", {{"valid", 0.1}, {"seed", 0}}},
          {"subset", {{"classes", classes}, {"train_per_class", train}, {"valid_per_class", valid}, {"seed", 1}}}};
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&] { return i + 1 < argc ? std::atoi(argv[++i]) : 0; };
    if (a == "--rows") o.rows = next();
    else if (a == "--epochs") o.epochs = next();
    else if (a == "--repeats") o.repeats = next();
    else if (a == "--trials") o.trials = next();
    else if (a == "--no-peer") o.peer = false;
    else {
      std::cerr << "usage: bench_torchscript [--rows N] [--epochs N] [--repeats N] [--trials N] [--no-peer]\n";
      return 2;
    }
  }
  Registry registry;
  registry.load_default();
  lepton::bench::ScratchStore scratch;
  run_python({"write", scratch.folder()});
  const std::string cnn10 = scratch.folder() + "/cnn10.pt", cnn5 = scratch.folder() + "/cnn5.pt";

  // (1) The training step, 1 thread everywhere.
  at::set_num_threads(1);
  lepton::DatasetRequest request;
  request.config = {{"path", kFashion}, {"split", {{"valid", 0.1}, {"seed", 0}}}};
  const auto data = registry.dataset("idx").load(request);
  lepton::Split train;
  train.x = data.train.x.slice(0, 0, o.rows);
  train.y = data.train.y.slice(0, 0, o.rows);
  std::printf("Small CNN (conv 8, conv 16, batch norm, max-pool, Linear 784-10), Fashion-MNIST %d rows 1x28x28, "
              "batch %d, Adam, 1 thread; %d epochs x %d repeats\n",
              o.rows, o.batch, o.epochs, o.repeats);
  const json cnn_params = {{"blocks", 2}, {"channels", 8}, {"growth", 2}, {"kernel", 3}, {"pooling", "max"},
                           {"batch_norm", true}, {"hidden", 0}};
  std::vector<double> scripted, first_party;
  for (int r = 0; r < o.repeats; ++r) {
    scripted.push_back(lepton_step(registry, "torchscript", {{"path", cnn10}}, train, o, 100 + r));
    first_party.push_back(lepton_step(registry, "cnn", cnn_params, train, o, 100 + r));
  }
  const double peer = o.peer ? median(pytorch_steps(train, o, scratch.folder())) : 0;
  std::printf("\n| implementation | ms per step (median of %d) | vs PyTorch |\n|---|---:|---:|\n", o.repeats);
  auto row = [&](const char* name, double ms) {
    if (peer > 0) std::printf("| %s | %.3f | %.2fx faster |\n", name, ms, peer / ms);
    else std::printf("| %s | %.3f | - |\n", name, ms);
  };
  row("TorchScript file (torchscript plugin), Lepton trainer", median(scripted));
  row("first-party cnn plugin, Lepton trainer", median(first_party));
  if (peer > 0) std::printf("| PyTorch 1.13 from Python, eager | %.3f | 1.00x |\n", peer);
  std::fflush(stdout);

  // (2) Linear probe: the TorchScript CNN trained on five classes, its head retrained on the other
  // five with the backbone frozen (backbone_lr_scale 0), lr searched; threads as a study sets them.
  at::set_num_threads(lepton::engine::torch_threads_per_trial(1));
  const json source = {{"name", "source"},
                       {"dataset", fashion({"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat"}, 1000, 200)},
                       {"model", {{"plugin", "torchscript"}, {"path", cnn5}}},
                       {"task", {{"type", "train"}, {"epochs", 3}, {"batch_size", 64}, {"lr", 3e-3},
                                 {"objective", {{"metric", "val_accuracy"}}}}},
                       {"search", {{"searcher", "random"}, {"trials", 1}, {"seed", 1}, {"space", json::object()}}}};
  const auto trained = lepton::bench::run_experiment(registry, source, scratch);
  std::printf("\nLinear probe: source %s val_accuracy %.4f; probe on Sandal, Shirt, Sneaker, Bag, Ankle boot, 500 train "
              "and 200 valid images per class, 10 epochs, %d trials, lr searched\n",
              "TorchScript CNN on 5 classes", trained.best().values.at(0), o.trials);
  std::printf("\n| feature cache | trials/s | seconds | val_accuracy, mean of trials |\n|---|---:|---:|---:|\n");
  double with_cache = 0, without_cache = 0;
  for (const bool cache : {true, false}) {
    const json probe = {{"name", cache ? "probe-cached" : "probe-uncached"},
                        {"dataset", fashion({"Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot"}, 500, 200)},
                        {"task", {{"type", "finetune"}, {"source", {{"study", "source"}}}, {"epochs", 10}, {"batch_size", 64},
                                  {"backbone_lr_scale", 0.0}, {"feature_cache", cache},
                                  {"objective", {{"metric", "val_accuracy"}}}}},
                        {"search", {{"searcher", "random"}, {"trials", o.trials}, {"parallel", 1}, {"seed", 2},
                                    {"space", {{"lr", {{"type", "float"}, {"low", 1e-3}, {"high", 3e-2}, {"log", true}}}}}}}};
    const auto outcome = lepton::bench::run_experiment(registry, probe, scratch);
    std::vector<double> accuracy;
    for (const auto& t : outcome.trials)
      if (t.state == lepton::TrialState::kComplete) accuracy.push_back(t.values.at(0));
    const double rate = static_cast<double>(outcome.trials.size()) / outcome.seconds;
    (cache ? with_cache : without_cache) = rate;
    std::printf("| %s | %.3f | %.1f | %s |\n", cache ? "on (features once per study)" : "off (backbone every step)", rate,
                outcome.seconds, lepton::bench::spread_text(lepton::bench::spread(accuracy)).c_str());
    std::fflush(stdout);
  }
  std::printf("\nfeature cache speed-up: %.1fx trials/s\n", with_cache / without_cache);
  return 0;
}
