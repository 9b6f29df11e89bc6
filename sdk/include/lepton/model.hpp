// The model interface: a factory that builds a LibTorch network from parameters and the data's shape.
#pragma once

#include <lepton/config.hpp>
#include <lepton/export.hpp>

#include <ATen/core/Generator.h>
#include <torch/nn/module.h>
#include <torch/nn/pimpl.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace torch::jit {
struct Module;  // <torch/script.h>; only plugins that hand over TorchScript modules include it
}  // namespace torch::jit

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
  /// This network as a TorchScript module for `lepton export --format torchscript`: its forward
  /// maps a batch {N, input...} to logits, and it may share this network's tensors. Null (the
  /// default) lets the engine record forward() with LibTorch's tracer, which fits networks whose
  /// operations depend neither on the values nor on the batch size (the engine checks a second
  /// batch size and refuses the export otherwise). Override it to hand over a scripted module.
  virtual std::shared_ptr<torch::jit::Module> script_module();
};

/// What a model is built from.
struct LEPTON_API ModelRequest {
  json params = json::object();  ///< the model's parameters: fixed ones from the experiment, searched ones from the trial
  std::string path = "model";    ///< JSON path of the model's section, for error messages
  DataShape shape;               ///< the data the network will see
  /// Where relative files named in `params` are looked up, in order (the working directory the
  /// study was started from, then the experiment file's folder), as DatasetRequest::search_dirs.
  std::vector<std::string> search_dirs;
};

/// A model plugin: builds networks. One instance serves every trial, from several threads at once,
/// so build() must not modify the plugin object.
class LEPTON_API Model {
 public:
  virtual ~Model() = default;
  /// Builds a freshly initialized network. Throw ConfigError for parameters it cannot accept.
  virtual std::shared_ptr<Network> build(const ModelRequest& request) const = 0;
  /// Called once before any trial of a train or distill study, for the experiment's fixed
  /// parameters and again for each choice of a searched categorical parameter: throw ConfigError
  /// for what no trial could use (a missing file, an output width that is not the class count), so
  /// the study stops with exit 2 instead of failing every trial. The default accepts everything.
  virtual void check(const ModelRequest& request) const;
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
