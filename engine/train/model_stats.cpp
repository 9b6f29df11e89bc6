// Parameter count and single-sample latency.
#include "train/model_stats.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <vector>

namespace lepton::engine {

std::int64_t parameter_count(Network& net) {
  std::int64_t count = 0;
  for (const auto& p : net.parameters()) count += p.numel();
  return count;
}

double latency_ms(Network& net, const at::Tensor& sample) {
  constexpr int kWarmup = 5, kRuns = 25;
  torch::NoGradGuard no_grad;
  net.eval();
  for (int i = 0; i < kWarmup; ++i) net.forward(sample);
  std::vector<double> times;
  for (int i = 0; i < kRuns; ++i) {
    const auto start = std::chrono::steady_clock::now();
    const auto out = net.forward(sample);
    times.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  }
  std::nth_element(times.begin(), times.begin() + kRuns / 2, times.end());
  return times[kRuns / 2];
}

}  // namespace lepton::engine
