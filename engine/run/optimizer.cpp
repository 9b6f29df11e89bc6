// The flat-buffer optimizer. The arithmetic follows torch::optim (LibTorch 1.13) operation by
// operation, so results match it to the last bit; only the number of kernel launches changes.
#include "run/optimizer.hpp"

#include <torch/torch.h>

#include <cmath>
#include <stdexcept>

namespace lepton::engine {

namespace {
constexpr double kBeta1 = 0.9, kBeta2 = 0.999, kEps = 1e-8;
}

FlatOptimizer::FlatOptimizer(std::vector<ParamGroup> groups, OptimizerSettings settings)
    : settings_(std::move(settings)) {
  if (settings_.kind != "adam" && settings_.kind != "adamw" && settings_.kind != "sgd")
    throw std::invalid_argument("unknown optimizer \"" + settings_.kind + "\"");
  std::int64_t total = 0;
  for (const auto& g : groups)
    for (const auto& p : g.params) total += p.numel();
  torch::NoGradGuard no_grad;
  const auto options = torch::TensorOptions().dtype(torch::kFloat32);
  flat_ = torch::empty({total}, options);
  grad_ = torch::zeros({total}, options);
  const auto exp_avg = torch::zeros({total}, options);
  const auto exp_avg_sq = settings_.kind == "sgd" ? at::Tensor() : torch::zeros({total}, options);
  std::int64_t offset = 0;
  for (auto& g : groups) {
    Range r{g.lr_scale, g.first_epoch, std::move(g.params)};
    const std::int64_t begin = offset;
    for (auto& p : r.params) {
      if (p.scalar_type() != torch::kFloat32)
        throw std::invalid_argument("the optimizer trains float32 parameters, got " + std::string(c10::toString(p.scalar_type())));
      const std::int64_t n = p.numel();
      auto data = flat_.slice(0, offset, offset + n);
      data.copy_(p.detach().reshape({-1}));
      p.set_data(data.view(p.sizes()));
      p.mutable_grad() = grad_.slice(0, offset, offset + n).view(p.sizes());
      offset += n;
    }
    r.param = flat_.slice(0, begin, offset);
    r.grad = grad_.slice(0, begin, offset);
    r.exp_avg = exp_avg.slice(0, begin, offset);
    if (exp_avg_sq.defined()) {
      r.exp_avg_sq = exp_avg_sq.slice(0, begin, offset);
      r.denom = torch::empty({offset - begin}, options);
    }
    ranges_.push_back(std::move(r));
  }
}

void FlatOptimizer::zero_grad() { grad_.zero_(); }

void FlatOptimizer::begin_epoch(int epoch) {
  for (auto& r : ranges_)
    for (auto& p : r.params) p.requires_grad_(epoch >= r.first_epoch);
}

void FlatOptimizer::step(int epoch, double lr_factor) {
  torch::NoGradGuard no_grad;
  for (auto& r : ranges_)
    if (epoch >= r.first_epoch && r.lr_scale > 0) update(r, settings_.lr * lr_factor * r.lr_scale);
}

void FlatOptimizer::update(Range& r, double lr) {
  const double wd = settings_.weight_decay;
  ++r.steps;
  if (settings_.kind == "sgd") {
    if (wd != 0) r.grad.add_(r.param, wd);
    // The momentum buffer starts at zero, which equals torch's first-step copy of the gradient.
    if (settings_.momentum != 0) {
      r.exp_avg.mul_(settings_.momentum).add_(r.grad);
      r.param.add_(r.exp_avg, -lr);
    } else {
      r.param.add_(r.grad, -lr);
    }
    return;
  }
  if (wd != 0) {
    if (settings_.kind == "adamw") {
      r.param.mul_(1 - lr * wd);
    } else {
      r.grad.add_(r.param, wd);
    }
  }
  const double t = static_cast<double>(r.steps);
  const double bias_correction1 = 1 - std::pow(kBeta1, t);
  const double bias_correction2 = 1 - std::pow(kBeta2, t);
  r.exp_avg.mul_(kBeta1).add_(r.grad, 1 - kBeta1);
  r.exp_avg_sq.mul_(kBeta2).addcmul_(r.grad, r.grad, 1 - kBeta2);
  at::sqrt_out(r.denom, r.exp_avg_sq).div_(std::sqrt(bias_correction2)).add_(kEps);
  r.param.addcdiv_(r.exp_avg, r.denom, -lr / bias_correction1);
}

}  // namespace lepton::engine
