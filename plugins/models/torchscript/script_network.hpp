// A TorchScript module trained as a Lepton Network: its tensors registered on a mirror of
// torch::nn::Modules, the features from the forward graph cut at the head, the head a Linear.
#pragma once

#include "script_template.hpp"

#include <lepton/model.hpp>

#include <torch/csrc/jit/api/module.h>
#include <torch/nn/module.h>

#include <memory>
#include <string>
#include <vector>

namespace lepton::torchscript {

/// One trial's network: its own deep copy of the file's module.
class ScriptNetwork final : public Network {
 public:
  /// `module` is this network's own copy of `source`'s module. Parameters that the file marks
  /// requires_grad=False stay fixed: they are registered as buffers (saved and copied, never trained).
  ScriptNetwork(std::shared_ptr<const ScriptTemplate> source, torch::jit::Module module);

  torch::Tensor features(const torch::Tensor& x) override;
  torch::Tensor head(const torch::Tensor& features) override;
  std::vector<torch::Tensor> layer_outputs(const torch::Tensor& x) override;
  void replace_head(std::int64_t classes) override;
  std::vector<torch::Tensor> head_parameters() override;
  /// The top-level children in order, each with its trainable parameters outside the head.
  std::vector<std::vector<torch::Tensor>> backbone_layers() override;
  std::shared_ptr<torch::jit::Module> script_module() override;
  void train(bool on = true) override;

  /// The head's output width.
  std::int64_t classes() const { return head_.attr("weight").toTensor().size(0); }

 private:
  std::shared_ptr<const ScriptTemplate> source_;
  torch::jit::Module module_, head_;
  std::shared_ptr<torch::nn::Module> mirror_;
};

/// Re-initializes every Linear, Conv and BatchNorm of `module` as PyTorch's constructors do,
/// drawing from the process-wide generator (which the engine seeds per trial).
void reset_parameters(torch::jit::Module& module);

}  // namespace lepton::torchscript
