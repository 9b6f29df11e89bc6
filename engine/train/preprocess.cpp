// Fitting the preprocessing steps and the network wrapper that applies them.
#include "train/preprocess.hpp"

#include <torch/torch.h>

#include <algorithm>

namespace lepton::engine {

namespace {

constexpr double kExplainedVariance = 0.95;

class PreprocessedNetwork final : public Network {
 public:
  PreprocessedNetwork(std::shared_ptr<Network> inner, const Preprocessor& pre) : pre_(pre) {
    inner_ = register_module("model", std::move(inner));
    if (pre_.pixel_mean.defined()) {
      pre_.pixel_mean = register_buffer("pixel_mean", pre_.pixel_mean);
      pre_.pixel_std = register_buffer("pixel_std", pre_.pixel_std);
    }
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

  const std::shared_ptr<Network>& inner() const { return inner_; }
  const Preprocessor& preprocessor() const { return pre_; }

 private:
  std::shared_ptr<Network> inner_;
  Preprocessor pre_;
};

}  // namespace

std::vector<std::int64_t> Preprocessor::output_shape() const {
  if (components.defined()) return {components.size(1)};
  if (!onehot_columns.empty()) return {encoded_width_};
  return input_shape;
}

void Preprocessor::set_onehot(std::vector<std::int64_t> columns, std::vector<std::int64_t> sizes, std::int64_t features) {
  onehot_columns = std::move(columns);
  onehot_sizes = std::move(sizes);
  std::vector<bool> coded(static_cast<std::size_t>(features), false);
  for (const auto c : onehot_columns) coded.at(static_cast<std::size_t>(c)) = true;
  std::vector<std::int64_t> kept, offsets;
  for (std::int64_t f = 0; f < features; ++f)
    if (!coded[static_cast<std::size_t>(f)]) kept.push_back(f);
  std::int64_t width = 0;
  for (const auto k : onehot_sizes) {
    offsets.push_back(width);
    width += k;
  }
  kept_ = torch::tensor(kept, torch::kLong);
  coded_ = torch::tensor(onehot_columns, torch::kLong);
  sizes_ = torch::tensor(onehot_sizes, torch::kLong).unsqueeze(0);
  offsets_ = torch::tensor(offsets, torch::kLong).unsqueeze(0);
  encoded_width_ = static_cast<std::int64_t>(kept.size()) + width;
}

at::Tensor Preprocessor::encode(const at::Tensor& flat) const {
  if (onehot_columns.empty()) return flat;
  const auto codes = flat.index_select(1, coded_).round().to(torch::kLong);
  // A code outside its categories (unseen at prediction) flags none of its columns.
  const auto known = (codes >= 0) & (codes < sizes_);
  const auto slots = torch::where(known, codes, torch::zeros_like(codes)) + offsets_;
  const auto onehot = torch::zeros({flat.size(0), encoded_width_ - kept_.size(0)}, flat.options())
                          .scatter_(1, slots, known.to(flat.scalar_type()));
  return torch::cat({flat.index_select(1, kept_), onehot}, 1);
}

void Preprocessor::set_pixels(const PixelScaling& pixels) {
  pixel_mean = torch::tensor(pixels.mean, torch::kFloat32).view({1, -1, 1, 1});
  pixel_std = torch::tensor(pixels.std, torch::kFloat32).view({1, -1, 1, 1});
}

at::Tensor Preprocessor::scale_pixels(const at::Tensor& x) const {
  if (!pixel_mean.defined()) return x;
  // One fused multiply-add on the converted batch: x * 1/(255 std) - mean/std.
  const auto factor = (pixel_std * 255).reciprocal();
  return torch::addcmul(-pixel_mean / pixel_std, x.to(torch::kFloat32), factor);
}

at::Tensor Preprocessor::apply(const at::Tensor& raw) const {
  if (identity()) return raw;
  const torch::Tensor x = scale_pixels(raw);
  if (!fits_features()) return x;
  torch::Tensor h = encode(x.flatten(1));
  if (shift.defined()) h = (h - shift) / scale;
  if (components.defined()) return torch::matmul(h - center, components);
  if (!onehot_columns.empty()) return h;
  std::vector<std::int64_t> shape{x.size(0)};
  shape.insert(shape.end(), input_shape.begin(), input_shape.end());
  return h.reshape(shape);
}

json Preprocessor::describe() const {
  json out = json::object();
  out["scaler"] = settings.value("scaler", "none");
  if (!onehot_columns.empty()) {
    json pairs = json::array();
    for (std::size_t i = 0; i < onehot_columns.size(); ++i) pairs.push_back({onehot_columns[i], onehot_sizes[i]});
    out["onehot"] = pairs;
  }
  if (components.defined()) out["pca_components"] = components.size(1);
  if (pixel_mean.defined()) out["pixels"] = pixel_mean.size(1);
  out["fitted_rows"] = fitted_rows;
  return out;
}

namespace {

bool encodes(const json& settings, const std::vector<CategoricalColumn>& categorical) {
  return !categorical.empty() && settings.value("encoding", "onehot") == "onehot";
}

std::int64_t flat_size(const std::vector<std::int64_t>& shape) {
  std::int64_t features = 1;
  for (const auto d : shape) features *= d;
  return features;
}

}  // namespace

bool wants_preprocessing(const json& settings, const std::vector<CategoricalColumn>& categorical) {
  return settings.value("scaler", "none") != "none" || settings.value("pca", false) || encodes(settings, categorical);
}

Preprocessor fit_preprocessor(const json& settings, const at::Tensor& train_x,
                              const std::vector<CategoricalColumn>& categorical, const PixelScaling& pixels) {
  torch::NoGradGuard no_grad;
  Preprocessor out;
  out.settings = settings;
  out.input_shape.assign(train_x.sizes().begin() + 1, train_x.sizes().end());
  out.fitted_rows = train_x.size(0);
  if (pixels.defined()) out.set_pixels(pixels);
  if (!wants_preprocessing(settings, categorical)) return out;
  if (encodes(settings, categorical)) {
    std::vector<std::int64_t> columns, sizes;
    for (const auto& c : categorical) {
      columns.push_back(c.column);
      sizes.push_back(static_cast<std::int64_t>(c.values.size()));
    }
    out.set_onehot(std::move(columns), std::move(sizes), flat_size(out.input_shape));
  }
  torch::Tensor x = out.encode(out.scale_pixels(train_x).flatten(1).to(torch::kFloat));
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
  std::int64_t features = flat_size(input_shape);
  if (described.contains("onehot")) {
    std::vector<std::int64_t> columns, sizes;
    for (const auto& pair : described["onehot"]) {
      columns.push_back(pair.at(0).get<std::int64_t>());
      sizes.push_back(pair.at(1).get<std::int64_t>());
    }
    out.set_onehot(std::move(columns), std::move(sizes), features);
    features = out.output_shape().front();
  }
  const std::string scaler = described.value("scaler", "none");
  out.settings = {{"scaler", scaler},
                  {"pca", described.contains("pca_components")},
                  {"encoding", described.contains("onehot") ? "onehot" : "ordinal"}};
  if (scaler != "none") {
    out.shift = torch::zeros({features});
    out.scale = torch::ones({features});
  }
  if (described.contains("pca_components")) {
    out.center = torch::zeros({features});
    out.components = torch::zeros({features, described["pca_components"].get<std::int64_t>()});
  }
  if (described.contains("pixels")) {
    const auto channels = described["pixels"].get<std::int64_t>();
    out.pixel_mean = torch::zeros({1, channels, 1, 1});
    out.pixel_std = torch::ones({1, channels, 1, 1});
  }
  out.fitted_rows = described.value("fitted_rows", std::int64_t{0});
  return out;
}

std::shared_ptr<Network> with_preprocessing(std::shared_ptr<Network> net, const Preprocessor& pre) {
  if (pre.identity()) return net;
  return std::make_shared<PreprocessedNetwork>(std::move(net), pre);
}

std::shared_ptr<Network> reading_pixels(std::shared_ptr<Network> net, const PixelScaling& pixels,
                                        const std::vector<std::int64_t>& input_shape) {
  if (!pixels.defined()) return net;
  auto [inner, pre] = split_preprocessing(net);
  if (pre.pixel_mean.defined()) return net;
  if (pre.identity()) {
    pre.input_shape = input_shape;
    pre.settings = json::object();
  }
  pre.set_pixels(pixels);
  return with_preprocessing(inner, pre);
}

std::pair<std::shared_ptr<Network>, Preprocessor> split_preprocessing(const std::shared_ptr<Network>& net) {
  if (const auto* wrapped = dynamic_cast<const PreprocessedNetwork*>(net.get()))
    return {wrapped->inner(), wrapped->preprocessor()};
  return {net, Preprocessor{}};
}

}  // namespace lepton::engine
