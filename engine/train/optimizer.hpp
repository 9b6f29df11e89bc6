// A fused optimizer: every trained parameter lives in one flat buffer, so a step is a handful of
// tensor operations whatever the number of parameter tensors.
#pragma once

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <string>
#include <vector>

namespace lepton::engine {

/// Parameters trained with one learning-rate multiplier, from epoch `first_epoch` on (earlier
/// epochs leave them untouched: fine-tuning trains a new head alone first).
struct ParamGroup {
  std::vector<at::Tensor> params;
  double lr_scale = 1.0;
  int first_epoch = 1;
};

/// The optimizer settings of a trial.
struct OptimizerSettings {
  std::string kind = "adam";  ///< "adam", "adamw", "sgd", or "lbfgs" (full batch; TrainingRun drives it)
  double lr = 1e-3;
  double weight_decay = 0;
  double momentum = 0.9;      ///< sgd only
};

/// Adam, AdamW and SGD (with momentum) with torch::optim's arithmetic, over a flat copy of the
/// parameters: the parameters and their gradients become views into two contiguous buffers, so
/// zeroing the gradients is one fill and an Adam step is one fused pass over all parameters
/// instead of eight kernels per parameter tensor.
class FlatOptimizer {
 public:
  /// Takes over the parameters of `groups` (each tensor once). Gradients accumulate in place into
  /// the flat gradient buffer, which is why the parameters must not be replaced afterwards.
  FlatOptimizer(std::vector<ParamGroup> groups, OptimizerSettings settings);

  /// Zeroes every gradient (one fill).
  void zero_grad();
  /// One update at `lr_factor` times the configured learning rate (warm-up), for the groups
  /// trained in `epoch`.
  void step(int epoch, double lr_factor = 1.0);
  /// Turns gradients on for the groups trained in `epoch` and off for the others, so the backward
  /// pass skips what will not be updated.
  void begin_epoch(int epoch);

  std::int64_t parameter_count() const { return flat_.numel(); }

  /// The parameters of the groups that train at all (lr_scale > 0), for an optimizer that steps
  /// them itself (full-batch L-BFGS); their data and gradients stay views of the flat buffers.
  std::vector<at::Tensor> trained_parameters() const;
  /// Whether a group that trains at all starts training in `epoch` (after epoch 1).
  bool starts_group(int epoch) const;
  /// Adds weight_decay * p to the gradients of the groups trained in `epoch` and returns the L2
  /// penalty weight_decay / 2 * |p|^2 that gradient belongs to (what Adam's and SGD's L2 add).
  double add_weight_decay(int epoch);

 private:
  struct Range {
    double lr_scale;
    int first_epoch;
    std::vector<at::Tensor> params;
    at::Tensor param, grad, exp_avg, exp_avg_sq;  // this group's views of the flat buffers
    std::int64_t steps = 0;  // updates so far: Adam's bias correction counts per group
  };
  // Whether `range` is updated in `epoch`: it has started and its rate is not 0.
  static bool trains(const Range& range, int epoch);
  void update(Range& range, double lr);

  OptimizerSettings settings_;
  std::vector<Range> ranges_;
  at::Tensor flat_, grad_;
};

}  // namespace lepton::engine
