// Fine-tuning: a network that starts from a saved model's weights, with a new head when the
// classes change, and frozen or slowed backbone layers.
#pragma once

#include "train/optimizer.hpp"
#include "train/tasks/task.hpp"

#include <lepton/model.hpp>

#include <memory>
#include <string>
#include <vector>

namespace lepton::engine {

/// A finetune trial's settings (task schema defaults filled in).
struct FinetuneSettings {
  int freeze_layers = 0;
  double backbone_lr_scale = 1;
  int head_epochs = 0;
  std::string head = "auto";  ///< "auto", "new" or "keep"
  static FinetuneSettings read(const json& settings);
};

/// A fine-tuning run's starting point.
struct FinetuneStart {
  std::shared_ptr<Network> net;
  std::vector<ParamGroup> groups;  ///< what trains: the head from epoch 1, the unfrozen backbone later
  bool new_head = false;
};

/// Whether a model trained for `source` classes gets a new head for `target` classes.
bool needs_new_head(const std::string& policy, const std::vector<std::string>& source,
                    const std::vector<std::string>& target);

/// Builds the network `model` makes from the source's parameters overlaid by `params`, copies the
/// source's weights in, replaces the head per the settings, and groups the parameters: the first
/// `freeze_layers` backbone layers frozen, the rest at `backbone_lr_scale` from epoch
/// `head_epochs` + 1, the head from epoch 1. Throws TrialFailure when the result cannot fit.
FinetuneStart finetune_start(const SourceModel& source, const Model& model, const std::string& model_name,
                             const json& params, const std::vector<std::string>& class_names,
                             const FinetuneSettings& settings, std::uint64_t seed);

}  // namespace lepton::engine
