// The linear model plugin: softmax (logistic, for two classes) regression, the cheap baseline of
// every model search. Trained with cross-entropy its loss is convex; the task's weight_decay is the L2 term.
#include <lepton/lepton.hpp>

#include <torch/torch.h>

#include <numeric>

namespace {

class LinearNetwork final : public lepton::Network {
 public:
  LinearNetwork(std::int64_t inputs, std::int64_t classes, bool bias) : inputs_(inputs), bias_(bias) {
    head_ = register_module("head", torch::nn::Linear(torch::nn::LinearOptions(inputs, classes).bias(bias)));
  }

  // No backbone: the features are the inputs themselves.
  torch::Tensor features(const torch::Tensor& x) override { return x.flatten(1); }
  torch::Tensor head(const torch::Tensor& features) override { return head_(features); }

  void replace_head(std::int64_t classes) override {
    head_ = replace_module("head", torch::nn::Linear(torch::nn::LinearOptions(inputs_, classes).bias(bias_)));
  }

  std::vector<torch::Tensor> head_parameters() override { return head_->parameters(); }
  std::vector<std::vector<torch::Tensor>> backbone_layers() override { return {}; }

 private:
  std::int64_t inputs_;
  bool bias_;
  torch::nn::Linear head_{nullptr};
};

class Linear final : public lepton::Model {
 public:
  std::shared_ptr<lepton::Network> build(const lepton::ModelRequest& request) const override {
    lepton::ConfigObject params(request.params, request.path);
    const bool bias = params.optional<bool>("bias", true);
    params.finish();
    const auto& shape = request.shape.input;
    const std::int64_t inputs = std::accumulate(shape.begin(), shape.end(), std::int64_t{1}, std::multiplies<>());
    return std::make_shared<LinearNetwork>(inputs, request.shape.classes, bias);
  }
};

}  // namespace

LEPTON_PLUGIN() { registrar.add_model(std::make_unique<Linear>()); }
