// `lepton export --format torchscript`: a saved model as one TorchScript file that Python's
// torch.jit.load opens without Lepton, preprocessing and class names inside.
#pragma once

#include "artifacts/quantize.hpp"
#include "plugins/registry.hpp"

#include <lepton/config.hpp>
#include <lepton/model.hpp>

#include <torch/csrc/jit/api/module.h>

#include <cstdint>
#include <string>
#include <vector>

namespace lepton::engine {

/// What the export wrote and how closely the written file reproduces the model.
struct TorchScriptExport {
  std::string network_source;  ///< "scripted" (the plugin handed over its module) or "traced"
  double max_difference = 0;   ///< max |probability difference| between the reloaded file and the model on random rows
  QuantizedLayers quantized;   ///< with int8: the layers quantized and those left in float
  std::uintmax_t bytes = 0;    ///< the file's size
};

/// `net` (in eval mode) as a TorchScript module whose forward maps a batch {N, sample...} to
/// logits: the module its plugin hands over (Network::script_module()), else forward() recorded by
/// LibTorch's tracer, which must then agree with `net` at a second batch size. `traced` says
/// which. Throws ConfigError naming model `plugin` when the trace disagrees.
torch::jit::Module script_network(Network& net, const std::vector<std::int64_t>& sample, const std::string& plugin,
                                  bool& traced);

/// Writes the model saved in `folder` to `file`. The file's forward takes raw rows {N, input...}
/// (or {N, features}), float, as the dataset plugin reads them before its own fitted
/// standardization, and returns class probabilities {N, classes}: the dataset's standardization,
/// the engine's fitted preprocessing (one-hot, scaling, PCA) and the network are inside. It also
/// has `logits(rows)` and `preprocess(rows)`, and the attributes class_names, feature_names,
/// input_shape and lepton (a JSON text: plugin, parameters, `provenance`). The file is written
/// beside `file` and renamed into place, and checked by loading it back. Throws ConfigError when
/// the network cannot be exported (a traced forward that depends on the batch size).
///
/// `int8`: the network's linear layers are quantized dynamically (quantize_linear_layers), and the
/// check allows what int8 rounding moves: the reloaded file must give finite probabilities of the
/// right shape, `max_difference` says by how much they moved. Throws ConfigError at "--quantize"
/// when the network has no linear layer to quantize.
TorchScriptExport export_torchscript(const std::string& folder, const Registry& registry, const std::string& file,
                                     const json& provenance, bool int8 = false);

}  // namespace lepton::engine
