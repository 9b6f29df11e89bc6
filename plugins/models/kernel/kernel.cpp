// The kernel model plugin: an RBF kernel machine approximated by random Fourier features
// (Rahimi and Recht, NIPS 2007). The features z(x) = sqrt(2/D) cos(x W + b), W ~ N(0, 2 gamma),
// b ~ U(0, 2 pi), are drawn once per network and never trained, so the model is a linear (convex)
// classifier in a fixed kernel space: a non-neural family beside mlp, with linear's cost per step.
#include <lepton/lepton.hpp>

#include <torch/torch.h>

#include <cmath>
#include <numeric>

namespace {

class KernelNetwork final : public lepton::Network {
 public:
  KernelNetwork(std::int64_t inputs, std::int64_t classes, std::int64_t features, double gamma) : features_(features) {
    // Drawn from the process generator, which the engine seeds per trial while building.
    frequencies_ = register_buffer("frequencies", torch::randn({inputs, features}) * std::sqrt(2.0 * gamma));
    phases_ = register_buffer("phases", torch::rand({features}) * (2.0 * M_PI));
    head_ = register_module("head", torch::nn::Linear(/*in=*/features, /*out=*/classes));
  }

  torch::Tensor features(const torch::Tensor& x) override {
    return torch::cos(torch::addmm(phases_, x.flatten(1), frequencies_)) * std::sqrt(2.0 / static_cast<double>(features_));
  }

  torch::Tensor head(const torch::Tensor& features) override { return head_(features); }

  void replace_head(std::int64_t classes) override {
    head_ = replace_module("head", torch::nn::Linear(/*in=*/features_, /*out=*/classes));
  }

  std::vector<torch::Tensor> head_parameters() override { return head_->parameters(); }
  // The random features have nothing to train or freeze.
  std::vector<std::vector<torch::Tensor>> backbone_layers() override { return {}; }

 private:
  std::int64_t features_;
  torch::Tensor frequencies_, phases_;
  torch::nn::Linear head_{nullptr};
};

class Kernel final : public lepton::Model {
 public:
  std::shared_ptr<lepton::Network> build(const lepton::ModelRequest& request) const override {
    lepton::ConfigObject params(request.params, request.path);
    const auto& shape = request.shape.input;
    const std::int64_t inputs = std::accumulate(shape.begin(), shape.end(), std::int64_t{1}, std::multiplies<>());
    const double gamma = params.number_in("gamma", 1e-8, 1e4, 0.1);
    const std::int64_t features = params.integer_in("features", 8, 65536, 512);
    params.finish();
    return std::make_shared<KernelNetwork>(inputs, request.shape.classes, features, gamma);
  }
};

}  // namespace

LEPTON_PLUGIN() { registrar.add_model(std::make_unique<Kernel>()); }
