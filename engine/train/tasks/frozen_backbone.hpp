// Fine-tuning with the whole backbone frozen (a linear probe): the backbone runs in eval mode
// without gradients, and its features can be computed once per study and shared read-only by
// every trial, the way a distillation teacher's outputs are, so that a trial trains only the head.
#pragma once

#include "train/tasks/finetune.hpp"

#include <lepton/dataset.hpp>
#include <lepton/model.hpp>

#include <memory>
#include <mutex>

namespace lepton::engine {

/// The source's backbone features on the study's data, computed on first use.
class BackboneFeatures {
 public:
  /// `source` in eval mode; `data` must outlive this object.
  BackboneFeatures(std::shared_ptr<Network> source, const DataSplits& data);
  /// The data with every split's samples replaced by their features {N, F} (labels, class names
  /// and the rest unchanged): computed by the first call, from any thread, then shared.
  const DataSplits& data() const;

 private:
  std::shared_ptr<Network> source_;
  const DataSplits& data_;
  mutable std::once_flag once_;
  mutable DataSplits features_;
};

/// Whether a fine-tuning trial trains nothing but the head of `net`: backbone_lr_scale 0, or every
/// parameter outside the head inside the first freeze_layers backbone layers.
bool trains_head_only(const FinetuneSettings& settings, Network& net);

/// `net` with its backbone frozen in eval mode and run without gradients; with `on_features`, the
/// inputs are already the backbone's features (BackboneFeatures::data()) and only the head runs.
std::shared_ptr<Network> head_only(std::shared_ptr<Network> net, bool on_features);

/// The network head_only() wrapped (or `net` itself).
std::shared_ptr<Network> without_head_only(const std::shared_ptr<Network>& net);

}  // namespace lepton::engine
