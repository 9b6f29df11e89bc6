// The multilayer perceptron model plugin: flattens its input, so it serves tabular and image data.
#include <lepton/lepton.hpp>

#include <torch/torch.h>

#include <numeric>

namespace {

enum class Activation { kRelu, kGelu, kTanh, kSilu, kLeakyRelu };

Activation parse_activation(const std::string& name) {
  if (name == "gelu") return Activation::kGelu;
  if (name == "tanh") return Activation::kTanh;
  if (name == "silu") return Activation::kSilu;
  if (name == "leaky_relu") return Activation::kLeakyRelu;
  return Activation::kRelu;
}

torch::Tensor activate(const torch::Tensor& x, Activation a) {
  switch (a) {
    case Activation::kGelu: return torch::gelu(x);
    case Activation::kTanh: return torch::tanh(x);
    case Activation::kSilu: return torch::silu(x);
    case Activation::kLeakyRelu: return torch::leaky_relu(x, 0.01);
    case Activation::kRelu: break;
  }
  return torch::relu(x);
}

class MlpNetwork final : public lepton::Network {
 public:
  MlpNetwork(std::int64_t inputs, std::int64_t classes, int layers, std::int64_t hidden, double dropout,
             Activation activation)
      : hidden_(hidden), activation_(activation) {
    std::int64_t width = inputs;
    for (int i = 0; i < layers; ++i) {
      linears_.push_back(register_module("linear" + std::to_string(i), torch::nn::Linear(width, hidden)));
      width = hidden;
    }
    dropout_ = register_module("dropout", lepton::nn::Dropout(dropout));
    head_ = register_module("head", torch::nn::Linear(/*in=*/hidden, /*out=*/classes));
  }

  torch::Tensor features(const torch::Tensor& x) override {
    torch::Tensor h = x.flatten(1);
    for (auto& linear : linears_) h = dropout_(activate(linear(h), activation_));
    return h;
  }

  std::vector<torch::Tensor> layer_outputs(const torch::Tensor& x) override {
    std::vector<torch::Tensor> out;
    torch::Tensor h = x.flatten(1);
    for (auto& linear : linears_) out.push_back(h = dropout_(activate(linear(h), activation_)));
    return out;
  }

  torch::Tensor head(const torch::Tensor& features) override { return head_(features); }

  void replace_head(std::int64_t classes) override {
    head_ = replace_module("head", torch::nn::Linear(/*in=*/hidden_, /*out=*/classes));
  }

  std::vector<torch::Tensor> head_parameters() override { return head_->parameters(); }

  std::vector<std::vector<torch::Tensor>> backbone_layers() override {
    std::vector<std::vector<torch::Tensor>> out;
    for (auto& linear : linears_) out.push_back(linear->parameters());
    return out;
  }

 private:
  std::int64_t hidden_;
  Activation activation_;
  std::vector<torch::nn::Linear> linears_;
  lepton::nn::Dropout dropout_{nullptr};
  torch::nn::Linear head_{nullptr};
};

class Mlp final : public lepton::Model {
 public:
  std::shared_ptr<lepton::Network> build(const lepton::ModelRequest& request) const override {
    lepton::ConfigObject params(request.params, request.path);
    const int layers = static_cast<int>(params.integer_in("layers", 1, 16, 2));
    const std::int64_t hidden = params.integer_in("hidden", 1, 8192, 64);
    const double dropout = params.number_in("dropout", 0.0, 0.95, 0.0);
    const Activation activation =
        parse_activation(params.one_of("activation", {"relu", "gelu", "tanh", "silu", "leaky_relu"}, std::string("relu")));
    params.finish();
    const auto& shape = request.shape.input;
    const std::int64_t inputs = std::accumulate(shape.begin(), shape.end(), std::int64_t{1}, std::multiplies<>());
    return std::make_shared<MlpNetwork>(inputs, request.shape.classes, layers, hidden, dropout, activation);
  }
};

}  // namespace

LEPTON_PLUGIN() { registrar.add_model(std::make_unique<Mlp>()); }
