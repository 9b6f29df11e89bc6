// The flat-buffer optimizer. The arithmetic follows torch::optim (LibTorch 1.13) operation by
// operation; Adam's update runs as one fused pass over the buffers instead of eight kernels.
#include "train/optimizer.hpp"

#include <torch/torch.h>

#include <cmath>
#include <stdexcept>

namespace lepton::engine {

namespace {

constexpr double kBeta1 = 0.9, kBeta2 = 0.999, kEps = 1e-8;

// One pass of Adam over n elements: the moments, then p -= lr/bc1 * m / (sqrt(v)/sqrt(bc2) + eps),
// with weight decay as L2 (Adam) or decoupled (AdamW). Plain loops the compiler vectorizes.
template <bool kL2, bool kDecoupled>
void adam_pass(float* __restrict p, float* __restrict g, float* __restrict m, float* __restrict v, std::int64_t n,
               float weight_decay, float decay_factor, float step, float sqrt_bc2) {
  const float b1 = static_cast<float>(kBeta1), b2 = static_cast<float>(kBeta2);
  const float c1 = static_cast<float>(1 - kBeta1), c2 = static_cast<float>(1 - kBeta2), eps = static_cast<float>(kEps);
  for (std::int64_t i = 0; i < n; ++i) {
    float grad = g[i];
    if constexpr (kL2) grad += weight_decay * p[i];
    float param = p[i];
    if constexpr (kDecoupled) param *= decay_factor;
    const float first = m[i] * b1 + c1 * grad;
    const float second = v[i] * b2 + c2 * grad * grad;
    m[i] = first;
    v[i] = second;
    p[i] = param - step * (first / (__builtin_sqrtf(second) / sqrt_bc2 + eps));
  }
}

}  // namespace

FlatOptimizer::FlatOptimizer(std::vector<ParamGroup> groups, OptimizerSettings settings)
    : settings_(std::move(settings)) {
  if (settings_.kind != "adam" && settings_.kind != "adamw" && settings_.kind != "sgd" && settings_.kind != "lbfgs")
    throw std::invalid_argument("unknown optimizer \"" + settings_.kind + "\"");
  std::int64_t total = 0;
  for (const auto& g : groups)
    for (const auto& p : g.params) total += p.numel();
  torch::NoGradGuard no_grad;
  const auto options = torch::TensorOptions().dtype(torch::kFloat32);
  flat_ = torch::empty({total}, options);
  grad_ = torch::zeros({total}, options);
  const bool adam = settings_.kind == "adam" || settings_.kind == "adamw";
  const auto exp_avg = settings_.kind == "lbfgs" ? at::Tensor() : torch::zeros({total}, options);
  const auto exp_avg_sq = adam ? torch::zeros({total}, options) : at::Tensor();
  std::int64_t offset = 0;
  for (auto& g : groups) {
    Range r;
    r.lr_scale = g.lr_scale;
    r.first_epoch = g.first_epoch;
    r.params = std::move(g.params);
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
    if (exp_avg.defined()) r.exp_avg = exp_avg.slice(0, begin, offset);
    if (exp_avg_sq.defined()) r.exp_avg_sq = exp_avg_sq.slice(0, begin, offset);
    ranges_.push_back(std::move(r));
  }
}

void FlatOptimizer::zero_grad() { grad_.zero_(); }

void FlatOptimizer::begin_epoch(int epoch) {
  for (auto& r : ranges_)
    for (auto& p : r.params) p.requires_grad_(epoch >= r.first_epoch);
}

bool FlatOptimizer::trains(const Range& r, int epoch) { return epoch >= r.first_epoch && r.lr_scale > 0; }

void FlatOptimizer::step(int epoch, double lr_factor) {
  torch::NoGradGuard no_grad;
  for (auto& r : ranges_)
    if (trains(r, epoch)) update(r, settings_.lr * lr_factor * r.lr_scale);
}

std::vector<at::Tensor> FlatOptimizer::trained_parameters() const {
  std::vector<at::Tensor> out;
  for (const auto& r : ranges_)
    if (r.lr_scale > 0) out.insert(out.end(), r.params.begin(), r.params.end());
  return out;
}

bool FlatOptimizer::starts_group(int epoch) const {
  for (const auto& r : ranges_)
    if (epoch > 1 && r.first_epoch == epoch && r.lr_scale > 0) return true;
  return false;
}

double FlatOptimizer::add_weight_decay(int epoch) {
  const double wd = settings_.weight_decay;
  if (wd == 0) return 0;
  torch::NoGradGuard no_grad;
  double squares = 0;
  for (auto& r : ranges_) {
    if (!trains(r, epoch)) continue;
    r.grad.add_(r.param, wd);
    squares += r.param.dot(r.param).item<double>();
  }
  return 0.5 * wd * squares;
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
  const double t = static_cast<double>(r.steps);
  const double bias_correction1 = 1 - std::pow(kBeta1, t);
  const double bias_correction2 = 1 - std::pow(kBeta2, t);
  auto* p = r.param.data_ptr<float>();
  auto* g = r.grad.data_ptr<float>();
  auto* m = r.exp_avg.data_ptr<float>();
  auto* v = r.exp_avg_sq.data_ptr<float>();
  const auto n = r.param.numel();
  const auto step = static_cast<float>(lr / bias_correction1);
  const auto sqrt_bc2 = static_cast<float>(std::sqrt(bias_correction2));
  const auto decay = static_cast<float>(1 - lr * wd);
  if (wd == 0) {
    adam_pass<false, false>(p, g, m, v, n, 0, 1, step, sqrt_bc2);
  } else if (settings_.kind == "adamw") {
    adam_pass<false, true>(p, g, m, v, n, 0, decay, step, sqrt_bc2);
  } else {
    adam_pass<true, false>(p, g, m, v, n, static_cast<float>(wd), 1, step, sqrt_bc2);
  }
}

}  // namespace lepton::engine
