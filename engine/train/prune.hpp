// Magnitude pruning: the smallest weights of each layer set to zero, and kept there while the
// network is fine-tuned afterwards.
#pragma once

#include <lepton/model.hpp>

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

namespace lepton::engine {

/// What prune_by_magnitude() removed.
struct PrunedWeights {
  std::vector<at::Tensor> parameters;  ///< the pruned weights (linear and convolution)
  std::vector<at::Tensor> masks;       ///< per weight: 1 where it stays, 0 where it was pruned
  std::int64_t weights = 0;            ///< entries in those weights
  std::int64_t zeroed = 0;             ///< of those, set to zero
};

/// Sets the `fraction` (in [0, 1)) of smallest-magnitude entries of every trainable weight with two
/// or more dimensions to zero, layer by layer (as torch.nn.utils.prune.l1_unstructured on each
/// layer): linear and convolution weights. Biases and normalization parameters stay.
PrunedWeights prune_by_magnitude(Network& net, double fraction);

/// Keeps pruned weights at zero while the network trains: their gradients are masked, so
/// optimizers (momentum and weight decay included) never move them.
void hold_pruned(const PrunedWeights& pruned);

}  // namespace lepton::engine
