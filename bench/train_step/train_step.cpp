// bench/train_step: the time of one training step of Lepton's trainer (MLP 64-128-10, batch 32,
// Adam, digits, 1 thread) beside PyTorch from Python measured in the same run, and beside a plain
// LibTorch loop (torch::optim::Adam, index_select per batch) to show where the gain comes from.
//
//   build/bin/bench_train_step [--epochs 30] [--repeats 5] [--hidden 128] [--batch 32] [--no-peer]
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
using Clock = std::chrono::steady_clock;

namespace {

struct Options {
  int epochs = 30, repeats = 5, hidden = 128, batch = 32;
  bool peer = true;
};

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

lepton::DataSplits load_digits(const Registry& registry) {
  lepton::DatasetRequest request;
  request.config = {{"path", std::string(LEPTON_SOURCE_DIR) + "/data/digits.csv.gz"},
                    {"scale", 0.0625},
                    {"split", {{"valid", 0.2}, {"test", 0.2}, {"seed", 0}}}};
  return registry.dataset("csv").load(request);
}

std::shared_ptr<lepton::Network> make_mlp(const Registry& registry, const lepton::DataSplits& data, int hidden,
                                          std::uint64_t seed) {
  lepton::ModelRequest request;
  request.params = {{"layers", 1}, {"hidden", hidden}};
  request.shape.input = data.input_shape;
  request.shape.classes = static_cast<std::int64_t>(data.class_names.size());
  return build_network(registry.model("mlp"), "mlp", request, seed);
}

// Milliseconds per step of Lepton's TrainingRun.
double lepton_step(const Registry& registry, const lepton::DataSplits& data, const Options& o, std::uint64_t seed) {
  lepton::TrialGeneratorScope random(seed);
  auto net = make_mlp(registry, data, o.hidden, seed);
  TrainSettings settings;
  settings.batch_size = o.batch;
  TrainingRun run(net, data.train, settings, all_parameters(*net));
  run.train_epoch(1);  // warm-up
  const auto start = Clock::now();
  for (int e = 2; e <= o.epochs + 1; ++e) run.train_epoch(e);
  const double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
  const auto steps = (data.train.size() + o.batch - 1) / o.batch * o.epochs;
  return ms / static_cast<double>(steps);
}

// Milliseconds per step of the textbook LibTorch loop.
double plain_libtorch_step(const Registry& registry, const lepton::DataSplits& data, const Options& o, std::uint64_t seed) {
  auto net = make_mlp(registry, data, o.hidden, seed);
  torch::optim::Adam optimizer(net->parameters(), torch::optim::AdamOptions(1e-3));
  const auto n = data.train.size();
  std::int64_t steps = 0;
  auto epoch = [&] {
    net->train();
    const auto order = torch::randperm(n, torch::kLong);
    for (std::int64_t begin = 0; begin < n; begin += o.batch, ++steps) {
      const auto index = order.slice(0, begin, std::min<std::int64_t>(begin + o.batch, n));
      const auto x = data.train.x.index_select(0, index);
      const auto y = data.train.y.index_select(0, index);
      optimizer.zero_grad();
      const auto loss = torch::nn::functional::cross_entropy(net->forward(x), y);
      loss.item<double>();
      loss.backward();
      optimizer.step();
    }
  };
  epoch();
  steps = 0;
  const auto start = Clock::now();
  for (int e = 0; e < o.epochs; ++e) epoch();
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count() / static_cast<double>(steps);
}

// The peer's milliseconds per step, one per repeat.
std::vector<double> pytorch_steps(const lepton::DataSplits& data, const Options& o) {
  const auto dir = std::filesystem::temp_directory_path() / ("lepton-bench-train-step-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const auto csv = (dir / "train.csv").string();
  {
    std::ofstream out(csv);
    const auto x = data.train.x.reshape({data.train.size(), -1}).contiguous();
    const auto y = data.train.y.contiguous();
    for (std::int64_t i = 0; i < x.size(0); ++i) {
      for (std::int64_t j = 0; j < x.size(1); ++j) out << x[i][j].item<float>() << ",";
      out << y[i].item<std::int64_t>() << "\n";
    }
  }
  const auto result = (dir / "peer.json").string();
  const std::string command = std::string("/usr/bin/python3 ") + LEPTON_PEER_SCRIPT + " " + csv + " " +
                              std::to_string(o.hidden) + " " + std::to_string(o.batch) + " " +
                              std::to_string(o.epochs) + " " + std::to_string(o.repeats) + " > " + result;
  if (std::system(command.c_str()) != 0) throw std::runtime_error("the PyTorch peer failed: " + command);
  const auto parsed = lepton::json::parse(std::ifstream(result));
  std::filesystem::remove_all(dir);
  return parsed.at("ms_per_step").get<std::vector<double>>();
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&] { return i + 1 < argc ? std::atoi(argv[++i]) : 0; };
    if (a == "--epochs") o.epochs = next();
    else if (a == "--repeats") o.repeats = next();
    else if (a == "--hidden") o.hidden = next();
    else if (a == "--batch") o.batch = next();
    else if (a == "--no-peer") o.peer = false;
    else {
      std::cerr << "usage: bench_train_step [--epochs N] [--repeats N] [--hidden N] [--batch N] [--no-peer]\n";
      return 2;
    }
  }
  at::set_num_threads(1);
  Registry registry;
  registry.load_default();
  const auto data = load_digits(registry);
  std::printf("MLP %lld-%d-%zu, batch %d, Adam, digits train split (%lld rows), 1 thread; %d epochs x %d repeats\n",
              static_cast<long long>(data.train.x.size(1)), o.hidden, data.class_names.size(), o.batch,
              static_cast<long long>(data.train.size()), o.epochs, o.repeats);
  std::vector<double> lepton, plain;
  for (int r = 0; r < o.repeats; ++r) {
    lepton.push_back(lepton_step(registry, data, o, 100 + r));
    plain.push_back(plain_libtorch_step(registry, data, o, 100 + r));
  }
  const double peer = o.peer ? median(pytorch_steps(data, o)) : 0;
  std::printf("\n| implementation | ms per step (median of %d) | vs PyTorch |\n|---|---:|---:|\n", o.repeats);
  auto row = [&](const char* name, double ms) {
    if (peer > 0) {
      std::printf("| %s | %.4f | %.2fx faster |\n", name, ms, peer / ms);
    } else {
      std::printf("| %s | %.4f | - |\n", name, ms);
    }
  };
  row("Lepton trainer (flat Adam, contiguous batches)", median(lepton));
  row("plain LibTorch loop (torch::optim::Adam, index_select)", median(plain));
  if (peer > 0) std::printf("| PyTorch 1.13 from Python, 1 thread | %.4f | 1.00x |\n", peer);
  return 0;
}
