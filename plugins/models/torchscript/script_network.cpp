// The mirror shares the TorchScript module's tensors, so everything the engine does through
// torch::nn::Module (optimizer views, freezing, weight copies, checkpoints) reaches the module.
#include "script_network.hpp"

#include <torch/torch.h>

#include <cmath>

namespace lepton::torchscript {

namespace tj = torch::jit;

namespace {

bool within(const std::string& path, const std::string& prefix) {
  return path == prefix || path.rfind(prefix + ".", 0) == 0;
}

std::shared_ptr<torch::nn::Module> mirror(const tj::Module& module) {
  auto out = std::make_shared<torch::nn::Module>(module_kind(module));
  for (const auto& p : module.named_parameters(/*recurse=*/false)) {
    if (p.value.requires_grad()) {
      out->register_parameter(p.name, p.value);
    } else {
      out->register_buffer(p.name, p.value);
    }
  }
  for (const auto& b : module.named_buffers(/*recurse=*/false)) out->register_buffer(b.name, b.value);
  for (const auto& child : module.named_children()) out->register_module(child.name, mirror(child.value));
  return out;
}

// fan_in of a Linear or Conv weight {out, in, kernel...}.
double fan_in(const torch::Tensor& weight) {
  double n = static_cast<double>(weight.size(1));
  for (std::int64_t d = 2; d < weight.dim(); ++d) n *= static_cast<double>(weight.size(d));
  return n;
}

// PyTorch's reset_parameters() of Linear and Conv: Kaiming-uniform weights with a = sqrt(5),
// biases uniform in +-1/sqrt(fan_in).
void reset_weight_and_bias(tj::Module& m) {
  auto weight = m.attr("weight").toTensor();
  torch::nn::init::kaiming_uniform_(weight, std::sqrt(5.0));
  if (m.hasattr("bias") && m.attr("bias").isTensor()) {
    const double bound = 1.0 / std::sqrt(fan_in(weight));
    m.attr("bias").toTensor().uniform_(-bound, bound);
  }
}

}  // namespace

void reset_parameters(tj::Module& module) {
  torch::NoGradGuard no_grad;
  for (auto item : module.named_modules()) {
    const std::string kind = module_kind(item.value);
    auto& m = item.value;
    if ((kind == "Linear" || kind.rfind("Conv", 0) == 0) && m.hasattr("weight") && m.attr("weight").isTensor()) {
      reset_weight_and_bias(m);
    } else if (kind.rfind("BatchNorm", 0) == 0) {
      if (m.hasattr("weight") && m.attr("weight").isTensor()) m.attr("weight").toTensor().fill_(1);
      if (m.hasattr("bias") && m.attr("bias").isTensor()) m.attr("bias").toTensor().zero_();
      if (m.hasattr("running_mean") && m.attr("running_mean").isTensor()) m.attr("running_mean").toTensor().zero_();
      if (m.hasattr("running_var") && m.attr("running_var").isTensor()) m.attr("running_var").toTensor().fill_(1);
      if (m.hasattr("num_batches_tracked") && m.attr("num_batches_tracked").isTensor())
        m.attr("num_batches_tracked").toTensor().zero_();
    }
  }
}

ScriptNetwork::ScriptNetwork(std::shared_ptr<const ScriptTemplate> source, tj::Module module)
    : source_(std::move(source)), module_(std::move(module)) {
  head_ = *find_module(module_, source_->head());
  mirror_ = register_module("module", mirror(module_));
  train(true);
}

torch::Tensor ScriptNetwork::features(const torch::Tensor& x) {
  return source_->features()({module_._ivalue(), x}).toTensor();
}

torch::Tensor ScriptNetwork::head(const torch::Tensor& features) {
  const auto bias = head_.attr("bias");
  return torch::linear(features, head_.attr("weight").toTensor(), bias.isTensor() ? bias.toTensor() : torch::Tensor());
}

std::vector<torch::Tensor> ScriptNetwork::layer_outputs(const torch::Tensor& x) {
  if (!source_->layers()) return {features(x)};
  const auto both = (*source_->layers())({module_._ivalue(), x}).toTuple();
  return {both->elements().at(0).toTensor(), both->elements().at(1).toTensor()};
}

void ScriptNetwork::replace_head(std::int64_t classes) {
  const auto old_weight = head_.attr("weight").toTensor();
  const bool has_bias = head_.hasattr("bias") && head_.attr("bias").isTensor();
  auto weight = torch::empty({classes, old_weight.size(1)}, old_weight.options().requires_grad(false));
  head_.register_parameter("weight", weight, /*is_buffer=*/false);
  if (has_bias) head_.register_parameter("bias", torch::empty({classes}, weight.options()), /*is_buffer=*/false);
  reset_weight_and_bias(head_);
  head_.attr("weight").toTensor().requires_grad_(true);
  if (has_bias) head_.attr("bias").toTensor().requires_grad_(true);
  // The mirror's head node, rebuilt around the new tensors.
  const std::string& path = source_->head();
  const auto dot = path.rfind('.');
  std::shared_ptr<torch::nn::Module> parent = mirror_;
  if (dot != std::string::npos) {
    std::size_t begin = 0;
    while (begin < dot) {
      const std::size_t end = std::min(path.find('.', begin), dot);
      parent = parent->named_children()[path.substr(begin, end - begin)];
      begin = end + 1;
    }
  }
  parent->replace_module(dot == std::string::npos ? path : path.substr(dot + 1), mirror(head_));
}

std::vector<torch::Tensor> ScriptNetwork::head_parameters() {
  std::vector<torch::Tensor> out;
  for (const auto& p : mirror_->named_parameters())
    if (within(p.key(), source_->head())) out.push_back(p.value());
  return out;
}

std::vector<std::vector<torch::Tensor>> ScriptNetwork::backbone_layers() {
  std::vector<std::vector<torch::Tensor>> layers;
  for (const auto& child : mirror_->named_children()) {
    std::vector<torch::Tensor> layer;
    for (const auto& p : child.value()->named_parameters())
      if (!within(child.key() + "." + p.key(), source_->head())) layer.push_back(p.value());
    if (!layer.empty()) layers.push_back(std::move(layer));
  }
  return layers;
}

std::shared_ptr<tj::Module> ScriptNetwork::script_module() { return std::make_shared<tj::Module>(module_); }

void ScriptNetwork::train(bool on) {
  torch::nn::Module::train(on);
  module_.train(on);
}

}  // namespace lepton::torchscript
