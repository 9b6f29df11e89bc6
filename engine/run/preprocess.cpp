// Fitting the preprocessing steps and the network wrapper that applies them.
#include "run/preprocess.hpp"

#include <torch/torch.h>

#include <algorithm>

namespace lepton::engine {

namespace {

constexpr double kExplainedVariance = 0.95;

class PreprocessedNetwork final : public Network {
 public:
  PreprocessedNetwork(std::shared_ptr<Network> inner, const Preprocessor& pre) : pre_(pre) {
    inner_ = register_module("model", std::move(inner));
    // Buffers, so the fitted statistics follow the network's state (saved and restored with it).
    if (pre_.shift.defined()) {
      pre_.shift = register_buffer("preprocess_shift", pre_.shift);
      pre_.scale = register_buffer("preprocess_scale", pre_.scale);
    }
    if (pre_.components.defined()) {
      pre_.center = register_buffer("preprocess_center", pre_.center);
      pre_.components = register_buffer("preprocess_components", pre_.components);
    }
  }

  torch::Tensor features(const torch::Tensor& x) override { return inner_->features(pre_.apply(x)); }
  torch::Tensor head(const torch::Tensor& features) override { return inner_->head(features); }
  void replace_head(std::int64_t classes) override { inner_->replace_head(classes); }
  std::vector<torch::Tensor> head_parameters() override { return inner_->head_parameters(); }
  std::vector<std::vector<torch::Tensor>> backbone_layers() override { return inner_->backbone_layers(); }
  std::vector<torch::Tensor> layer_outputs(const torch::Tensor& x) override { return inner_->layer_outputs(pre_.apply(x)); }

 private:
  std::shared_ptr<Network> inner_;
  Preprocessor pre_;
};

}  // namespace

std::vector<std::int64_t> Preprocessor::output_shape() const {
  if (components.defined()) return {components.size(1)};
  return input_shape;
}

at::Tensor Preprocessor::apply(const at::Tensor& x) const {
  if (identity()) return x;
  torch::Tensor h = x.flatten(1);
  if (shift.defined()) h = (h - shift) / scale;
  if (components.defined()) return torch::matmul(h - center, components);
  std::vector<std::int64_t> shape{x.size(0)};
  shape.insert(shape.end(), input_shape.begin(), input_shape.end());
  return h.reshape(shape);
}

json Preprocessor::describe() const {
  json out = json::object();
  out["scaler"] = settings.value("scaler", "none");
  if (components.defined()) out["pca_components"] = components.size(1);
  out["fitted_rows"] = fitted_rows;
  return out;
}

bool wants_preprocessing(const json& settings) {
  return settings.value("scaler", "none") != "none" || settings.value("pca", false);
}

Preprocessor fit_preprocessor(const json& settings, const at::Tensor& train_x) {
  torch::NoGradGuard no_grad;
  Preprocessor out;
  out.settings = settings;
  out.input_shape.assign(train_x.sizes().begin() + 1, train_x.sizes().end());
  out.fitted_rows = train_x.size(0);
  torch::Tensor x = train_x.flatten(1).to(torch::kFloat);
  const std::string scaler = settings.value("scaler", "none");
  if (scaler == "standardize") {
    out.shift = x.mean(0);
    out.scale = (x - out.shift).pow(2).mean(0).sqrt();  // the population deviation, as scikit-learn
  } else if (scaler == "minmax") {
    out.shift = std::get<0>(x.min(0));
    out.scale = std::get<0>(x.max(0)) - out.shift;
  }
  if (out.shift.defined()) {
    // A constant feature keeps its (shifted) value rather than dividing by zero.
    out.scale = torch::where(out.scale > 1e-12, out.scale, torch::ones_like(out.scale));
    x = (x - out.shift) / out.scale;
  }
  if (settings.value("pca", false)) {
    out.center = x.mean(0);
    const auto [u, s, v] = torch::linalg_svd(x - out.center, /*full_matrices=*/false);
    const std::int64_t rank = s.size(0);
    std::int64_t k = rank;
    if (settings.contains("pca_components")) {
      k = std::min<std::int64_t>(settings["pca_components"].get<std::int64_t>(), rank);
    } else {
      const torch::Tensor share = (s * s).cumsum(0) / (s * s).sum().clamp_min(1e-30);
      k = std::min<std::int64_t>(rank, (share < kExplainedVariance).sum().item<std::int64_t>() + 1);
    }
    torch::Tensor components = v.slice(0, 0, k).t().contiguous();  // {features, k}
    // SVD's signs are arbitrary: make each component's largest loading positive, for reproducibility.
    const torch::Tensor largest = components.abs().argmax(0);
    const torch::Tensor signs = components.gather(0, largest.unsqueeze(0)).sign();
    out.components = components * torch::where(signs == 0, torch::ones_like(signs), signs);
  }
  return out;
}

Preprocessor blank_preprocessor(const json& described, const std::vector<std::int64_t>& input_shape) {
  Preprocessor out;
  out.input_shape = input_shape;
  std::int64_t features = 1;
  for (const auto d : input_shape) features *= d;
  const std::string scaler = described.value("scaler", "none");
  out.settings = {{"scaler", scaler}, {"pca", described.contains("pca_components")}};
  if (scaler != "none") {
    out.shift = torch::zeros({features});
    out.scale = torch::ones({features});
  }
  if (described.contains("pca_components")) {
    out.center = torch::zeros({features});
    out.components = torch::zeros({features, described["pca_components"].get<std::int64_t>()});
  }
  out.fitted_rows = described.value("fitted_rows", std::int64_t{0});
  return out;
}

std::shared_ptr<Network> with_preprocessing(std::shared_ptr<Network> net, const Preprocessor& pre) {
  if (pre.identity()) return net;
  return std::make_shared<PreprocessedNetwork>(std::move(net), pre);
}

}  // namespace lepton::engine
