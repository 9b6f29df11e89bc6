// A TorchScript file read and analysed once per study: its head and the cut forward graphs that
// give the features. Every network built from it is a deep copy.
#pragma once

#include "script_graph.hpp"

#include <lepton/model.hpp>

#include <torch/csrc/jit/api/module.h>

#include <memory>
#include <string>
#include <vector>

namespace lepton::torchscript {

/// What the `torchscript` model's parameters say about the file.
struct ScriptOptions {
  std::string file;            ///< the resolved path
  std::string head;            ///< the submodule computing the logits; empty: the last Linear
  std::string feature_module;  ///< a submodule whose output feature distillation can match; empty: none
};

/// The module as loaded plus what the engine needs to train it as a Network.
class ScriptTemplate {
 public:
  /// Loads and analyses the file. Throws ConfigError at `path` when it is not TorchScript, has no
  /// usable head, or its forward does not call the head (or the feature module) where it can be cut.
  ScriptTemplate(const ScriptOptions& options, const std::string& path);

  const torch::jit::Module& module() const { return module_; }
  const std::string& file() const { return file_; }
  /// The head's dotted path, e.g. "fc".
  const std::string& head() const { return head_; }
  /// (self, x) -> the head's input {N, F}.
  torch::jit::GraphFunction& features() const { return *features_; }
  /// (self, x) -> (the feature module's output, the features); null without a feature module.
  torch::jit::GraphFunction* layers() const { return layers_.get(); }
  /// "its first layer conv1 (Conv2d) takes 3 input channels", for shape errors; empty when unknown.
  std::string input_hint() const;

 private:
  torch::jit::Module module_;
  std::string file_, head_;
  std::shared_ptr<torch::jit::GraphFunction> features_, layers_;
};

/// What went wrong in PyTorch, in one line: the last line of the message (the interpreter puts
/// the TorchScript traceback first and the error last), without the C++ backtrace.
std::string torch_message(const std::exception& error);

/// The class name of a submodule without TorchScript's package and mangling: "Linear", "Conv2d".
std::string module_kind(const torch::jit::Module& module);

/// The submodule at dotted `path` of `module`, or nothing.
c10::optional<torch::jit::Module> find_module(const torch::jit::Module& module, const std::string& path);

}  // namespace lepton::torchscript
