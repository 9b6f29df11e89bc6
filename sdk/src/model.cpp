// The per-trial random generator and the layers that draw from it.
#include <lepton/model.hpp>

#include <ATen/CPUGeneratorImpl.h>
#include <torch/torch.h>

namespace lepton {

namespace {
// Undefined outside a trial; trial_generator() then falls back to the process-wide generator.
thread_local at::Generator current_trial_generator;
}  // namespace

at::Generator trial_generator() {
  if (current_trial_generator.defined()) return current_trial_generator;
  return at::detail::getDefaultCPUGenerator();
}

std::vector<torch::Tensor> Network::layer_outputs(const torch::Tensor& x) { return {features(x)}; }

std::shared_ptr<torch::jit::Module> Network::script_module() { return nullptr; }

void Model::check(const ModelRequest&) const {}

TrialGeneratorScope::TrialGeneratorScope(std::uint64_t seed) : previous_(current_trial_generator) {
  current_trial_generator = at::make_generator<at::CPUGeneratorImpl>(seed);
}

TrialGeneratorScope::~TrialGeneratorScope() { current_trial_generator = previous_; }

namespace nn {

DropoutImpl::DropoutImpl(double p) : p_(p) {
  TORCH_CHECK(p >= 0.0 && p < 1.0, "dropout probability must be in [0, 1), got ", p);
}

torch::Tensor DropoutImpl::forward(const torch::Tensor& x) {
  if (!is_training() || p_ == 0.0) return x;
  const auto keep = torch::empty_like(x).bernoulli_(1.0 - p_, trial_generator());
  return x * keep / (1.0 - p_);
}

}  // namespace nn
}  // namespace lepton
