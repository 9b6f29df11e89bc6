// The model interface: a factory that builds a LibTorch network from parameters and the data's shape.
#pragma once

#include <lepton/config.hpp>
#include <lepton/export.hpp>

#include <ATen/core/Generator.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <memory>
#include <vector>

namespace lepton {

/// The shape of the data a network is built for.
struct LEPTON_API DataShape {
  std::vector<std::int64_t> input;  ///< one sample's shape: {30} for 30 features, {1, 8, 8} for an image
  std::int64_t classes = 0;         ///< number of output classes
};

/// A classifier split into a backbone (`features`) and a head, so the engine can fine-tune (freeze
/// or slow down the backbone, replace the head) and distil (match features) any model plugin.
class LEPTON_API Network : public torch::nn::Module {
 public:
  /// The backbone's output for a batch `x` of shape {N, input...}: shape {N, F}.
  virtual torch::Tensor features(const torch::Tensor& x) = 0;
  /// Logits {N, classes} from features {N, F}.
  virtual torch::Tensor head(const torch::Tensor& features) = 0;
  /// Logits for a batch.
  torch::Tensor forward(const torch::Tensor& x) { return head(features(x)); }
  /// Replaces the head with a freshly initialized one with `classes` outputs.
  virtual void replace_head(std::int64_t classes) = 0;
  /// The head's parameters.
  virtual std::vector<torch::Tensor> head_parameters() = 0;
  /// The backbone's parameters layer by layer, input side first (fine-tuning freezes the first k).
  virtual std::vector<std::vector<torch::Tensor>> backbone_layers() = 0;
  /// The output of each backbone layer for a batch `x`, input side first, in one pass; the last one
  /// is features(x), so `head(layer_outputs(x).back())` are the logits. Feature distillation matches
  /// a student layer to a teacher layer through these. The default gives only {features(x)};
  /// override it to expose the intermediate layers (one entry per backbone_layers() entry).
  virtual std::vector<torch::Tensor> layer_outputs(const torch::Tensor& x);
};

/// What a model is built from.
struct LEPTON_API ModelRequest {
  json params = json::object();  ///< the model's parameters: fixed ones from the experiment, searched ones from the trial
  std::string path = "model";    ///< JSON path of the model's section, for error messages
  DataShape shape;               ///< the data the network will see
};

/// A model plugin: builds networks. One instance serves every trial, from several threads at once,
/// so build() must not modify the plugin object.
class LEPTON_API Model {
 public:
  virtual ~Model() = default;
  /// Builds a freshly initialized network. Throw ConfigError for parameters it cannot accept.
  virtual std::shared_ptr<Network> build(const ModelRequest& request) const = 0;
};

/// The random generator of the trial running on this thread, set by the engine for the length of
/// a trial; the default CPU generator elsewhere. Use it for anything random inside forward() so a
/// trial gives the same result whatever runs beside it.
LEPTON_API at::Generator trial_generator();

/// Sets the thread's trial generator for the lifetime of the scope (used by the engine and tests).
class LEPTON_API TrialGeneratorScope {
 public:
  explicit TrialGeneratorScope(std::uint64_t seed);
  ~TrialGeneratorScope();
  TrialGeneratorScope(const TrialGeneratorScope&) = delete;
  TrialGeneratorScope& operator=(const TrialGeneratorScope&) = delete;

 private:
  at::Generator previous_;
};

namespace nn {

/// Dropout drawing from trial_generator(), so parallel trials stay reproducible
/// (torch::nn::Dropout draws from the process-wide generator that all trials share).
class LEPTON_API DropoutImpl : public torch::nn::Module {
 public:
  explicit DropoutImpl(double p = 0.5);
  torch::Tensor forward(const torch::Tensor& x);
  double p() const { return p_; }

 private:
  double p_;
};
TORCH_MODULE(Dropout);

}  // namespace nn
}  // namespace lepton
