// Layer-wise magnitude pruning by masks: exactly floor(fraction * n) entries of each weight go.
#include "train/prune.hpp"

#include <torch/torch.h>

#include <cmath>

namespace lepton::engine {

PrunedWeights prune_by_magnitude(Network& net, double fraction) {
  torch::NoGradGuard no_grad;
  PrunedWeights out;
  for (auto& p : net.parameters()) {
    if (!p.requires_grad() || p.dim() < 2) continue;
    const auto n = p.numel();
    const auto k = static_cast<std::int64_t>(std::floor(fraction * static_cast<double>(n)));
    auto mask = torch::ones_like(p);
    if (k > 0) {
      const auto smallest = std::get<1>(p.abs().flatten().topk(k, 0, /*largest=*/false));
      mask.view({-1}).index_fill_(0, smallest, 0);
      p.mul_(mask);
    }
    out.parameters.push_back(p);
    out.masks.push_back(mask);
    out.weights += n;
    out.zeroed += k;
  }
  return out;
}

void hold_pruned(const PrunedWeights& pruned) {
  for (std::size_t i = 0; i < pruned.parameters.size(); ++i) {
    const at::Tensor mask = pruned.masks[i];
    auto p = pruned.parameters[i];
    p.register_hook([mask](const at::Tensor& grad) { return grad * mask; });
  }
}

}  // namespace lepton::engine
