// Dynamic int8 quantization of a TorchScript network's linear layers, the way PyTorch's
// quantize_dynamic does it: weights stored as int8 (one scale per layer), activations quantized
// on the fly per batch, through LibTorch's quantized::linear_dynamic (onednn or qnnpack).
#pragma once

#include <torch/script.h>

namespace lepton::engine {

struct QuantizedLayers {
  int linear = 0;       ///< linear layers now int8
  int kept_float = 0;   ///< convolutions and other weighted operations left in float32
};

/// Rewrites `network` (a traced or scripted module) in place: every aten::linear whose weight is a
/// parameter becomes quantized::linear_dynamic over weights packed by quantized::linear_prepack,
/// and the float weights leave the module. Convolutions stay float: PyTorch quantizes them only
/// statically, with calibration data.
QuantizedLayers quantize_linear_layers(torch::jit::Module& network);

}  // namespace lepton::engine
