// Cutting a TorchScript module's forward graph where a submodule is called, so the engine can run
// the part before the head (the features) or read a submodule's output, without Python hooks.
#pragma once

#include <torch/csrc/jit/api/function_impl.h>
#include <torch/csrc/jit/api/module.h>
#include <torch/csrc/jit/ir/ir.h>

#include <memory>
#include <string>
#include <vector>

namespace lepton::torchscript {

/// A copy of `module`'s forward graph (inputs: self, then the arguments).
std::shared_ptr<torch::jit::Graph> forward_graph(const torch::jit::Module& module);

/// The call of submodule `path` ("fc", "classifier.6") in `graph`'s top-level block, found by
/// inlining the methods that contain it (self's own helpers such as `_forward_impl`, then the
/// parents named in the path). Null when forward never calls it there.
torch::jit::Node* find_submodule_call(torch::jit::Graph& graph, const std::string& path);

/// A function of (self, x) that computes `outputs` of `graph` (a tuple when there are several) and
/// nothing else: the graph is cut there and what no output needs is removed.
std::shared_ptr<torch::jit::GraphFunction> cut_graph(std::shared_ptr<torch::jit::Graph> graph,
                                                     const std::vector<torch::jit::Value*>& outputs,
                                                     const std::string& name);

}  // namespace lepton::torchscript
