// The flat-buffer optimizer reproduces torch::optim step for step, and honours its groups.
#include "train/optimizer.hpp"

#include <catch2/catch.hpp>
#include <torch/torch.h>

using namespace lepton::engine;

namespace {

struct Net : torch::nn::Module {
  Net() {
    a = register_module("a", torch::nn::Linear(6, 5));
    b = register_module("b", torch::nn::Linear(5, 3));
  }
  torch::Tensor forward(const torch::Tensor& x) { return b(torch::tanh(a(x))); }
  torch::nn::Linear a{nullptr}, b{nullptr};
};

// Trains two copies of one network on the same batches, one with each optimizer; returns the
// largest parameter difference after `steps` steps.
double largest_difference(const OptimizerSettings& s, std::unique_ptr<torch::optim::Optimizer> (*reference)(
                                                            std::vector<torch::Tensor>, const OptimizerSettings&)) {
  torch::manual_seed(3);
  auto mine = std::make_shared<Net>();
  auto theirs = std::make_shared<Net>();
  {
    torch::NoGradGuard no_grad;
    for (std::size_t i = 0; i < mine->parameters().size(); ++i) theirs->parameters()[i].copy_(mine->parameters()[i]);
  }
  FlatOptimizer flat({ParamGroup{mine->parameters(), 1.0, 1}}, s);
  auto torch_optimizer = reference(theirs->parameters(), s);
  for (int step = 0; step < 25; ++step) {
    const auto x = torch::randn({8, 6});
    const auto y = torch::randint(3, {8}, torch::kLong);
    flat.zero_grad();
    torch::nn::functional::cross_entropy(mine->forward(x), y).backward();
    flat.step(1);
    torch_optimizer->zero_grad();
    torch::nn::functional::cross_entropy(theirs->forward(x), y).backward();
    torch_optimizer->step();
  }
  double worst = 0;
  for (std::size_t i = 0; i < mine->parameters().size(); ++i)
    worst = std::max(worst, (mine->parameters()[i] - theirs->parameters()[i]).abs().max().item<double>());
  return worst;
}

std::unique_ptr<torch::optim::Optimizer> torch_adam(std::vector<torch::Tensor> p, const OptimizerSettings& s) {
  return std::make_unique<torch::optim::Adam>(p, torch::optim::AdamOptions(s.lr).weight_decay(s.weight_decay));
}
std::unique_ptr<torch::optim::Optimizer> torch_adamw(std::vector<torch::Tensor> p, const OptimizerSettings& s) {
  return std::make_unique<torch::optim::AdamW>(p, torch::optim::AdamWOptions(s.lr).weight_decay(s.weight_decay));
}
std::unique_ptr<torch::optim::Optimizer> torch_sgd(std::vector<torch::Tensor> p, const OptimizerSettings& s) {
  return std::make_unique<torch::optim::SGD>(
      p, torch::optim::SGDOptions(s.lr).momentum(s.momentum).weight_decay(s.weight_decay));
}

}  // namespace

TEST_CASE("the flat optimizer matches torch::optim's Adam, AdamW and SGD", "[optimizer]") {
  CHECK(largest_difference({"adam", 0.01, 0.0, 0.9}, torch_adam) < 1e-6);
  CHECK(largest_difference({"adam", 0.01, 0.05, 0.9}, torch_adam) < 1e-6);
  CHECK(largest_difference({"adamw", 0.01, 0.1, 0.9}, torch_adamw) < 1e-6);
  CHECK(largest_difference({"sgd", 0.05, 0.01, 0.9}, torch_sgd) < 1e-6);
  CHECK(largest_difference({"sgd", 0.05, 0.0, 0.0}, torch_sgd) < 1e-6);
}

TEST_CASE("parameters and gradients become views of the flat buffers, so training still sees them", "[optimizer]") {
  torch::manual_seed(1);
  Net net;
  const auto before = net.a->weight.clone();
  FlatOptimizer flat({ParamGroup{net.parameters(), 1.0, 1}}, {"sgd", 0.1, 0.0, 0.0});
  CHECK(torch::equal(net.a->weight, before));  // values kept
  CHECK(flat.parameter_count() == 6 * 5 + 5 + 5 * 3 + 3);
  flat.zero_grad();
  net.forward(torch::ones({2, 6})).sum().backward();
  const auto grad = net.a->weight.grad().clone();
  flat.step(1);
  CHECK(torch::allclose(net.a->weight, before - 0.1 * grad));
}

TEST_CASE("groups train at their own rate and from their own epoch", "[optimizer]") {
  torch::manual_seed(2);
  Net net;
  const auto a0 = net.a->weight.clone();
  const auto b0 = net.b->weight.clone();
  FlatOptimizer flat({ParamGroup{net.b->parameters(), 1.0, 1}, ParamGroup{net.a->parameters(), 0.5, 3}},
                     {"sgd", 0.1, 0.0, 0.0});
  for (int epoch = 1; epoch <= 3; ++epoch) {
    flat.begin_epoch(epoch);
    CHECK(net.a->weight.requires_grad() == (epoch >= 3));  // the backward pass skips what will not move
    flat.zero_grad();
    net.forward(torch::ones({2, 6})).sum().backward();
    const auto grad_a = net.a->weight.grad().clone();
    const auto a_before = net.a->weight.clone();
    flat.step(epoch, /*lr_factor=*/0.5);
    if (epoch < 3) {
      CHECK(torch::equal(net.a->weight, a0));
    } else {
      CHECK(torch::allclose(net.a->weight, a_before - 0.1 * 0.5 * 0.5 * grad_a));
    }
  }
  CHECK_FALSE(torch::equal(net.b->weight, b0));
}
