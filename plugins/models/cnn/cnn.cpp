// The convolutional model plugin: conv blocks for images {channels, height, width}, such as the
// 8x8 digits (csv with "shape": [1, 8, 8]) or 28x28 Fashion-MNIST (idx).
#include <lepton/lepton.hpp>

#include <torch/torch.h>

namespace {

using lepton::ConfigError;

torch::Tensor activate(const torch::Tensor& x, const std::string& name) {
  if (name == "gelu") return torch::gelu(x);
  if (name == "tanh") return torch::tanh(x);
  if (name == "silu") return torch::silu(x);
  if (name == "leaky_relu") return torch::leaky_relu(x, 0.01);
  return torch::relu(x);
}

struct CnnOptions {
  int blocks;
  std::int64_t channels;
  double growth;
  std::int64_t kernel;
  std::string pooling;
  bool batch_norm;
  double dropout;
  std::int64_t hidden;
  std::string activation;
};

// One block: convolution (padded to keep the size for odd kernels), batch norm, activation,
// 2x2 pooling when the image is still at least 2x2, dropout.
class ConvBlockImpl : public torch::nn::Module {
 public:
  ConvBlockImpl(std::int64_t in, std::int64_t out, const CnnOptions& o, bool pool)
      : activation_(o.activation), pooling_(pool ? o.pooling : "none") {
    conv_ = register_module("conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, o.kernel).padding(o.kernel / 2)));
    if (o.batch_norm) norm_ = register_module("norm", torch::nn::BatchNorm2d(out));
    dropout_ = register_module("dropout", lepton::nn::Dropout(o.dropout));
  }
  torch::Tensor forward(torch::Tensor x) {
    x = conv_(x);
    if (norm_) x = norm_(x);
    x = activate(x, activation_);
    if (pooling_ == "max") x = torch::max_pool2d(x, 2);
    if (pooling_ == "avg") x = torch::avg_pool2d(x, 2);
    return dropout_(x);
  }

 private:
  std::string activation_, pooling_;
  torch::nn::Conv2d conv_{nullptr};
  torch::nn::BatchNorm2d norm_{nullptr};
  lepton::nn::Dropout dropout_{nullptr};
};
TORCH_MODULE(ConvBlock);

class CnnNetwork final : public lepton::Network {
 public:
  CnnNetwork(std::int64_t channels, std::int64_t height, std::int64_t width, std::int64_t classes, const CnnOptions& o)
      : options_(o) {
    std::int64_t in = channels;
    double out = static_cast<double>(o.channels);
    for (int b = 0; b < o.blocks; ++b) {
      const auto c = std::max<std::int64_t>(1, static_cast<std::int64_t>(std::llround(out)));
      // The convolution keeps the size for odd kernels and adds one per side pair for even ones.
      height += 2 * (o.kernel / 2) - o.kernel + 1;
      width += 2 * (o.kernel / 2) - o.kernel + 1;
      const bool pool = o.pooling != "none" && height >= 2 && width >= 2;
      if (pool) {
        height /= 2;
        width /= 2;
      }
      blocks_.push_back(register_module("block" + std::to_string(b), ConvBlock(in, c, o, pool)));
      in = c;
      out *= o.growth;
    }
    flat_ = in * height * width;
    if (o.hidden > 0) {
      dense_ = register_module("dense", torch::nn::Linear(flat_, o.hidden));
      dense_dropout_ = register_module("dense_dropout", lepton::nn::Dropout(o.dropout));
    }
    head_ = register_module("head", torch::nn::Linear(/*in=*/feature_size(), /*out=*/classes));
  }

  torch::Tensor features(const torch::Tensor& x) override { return layer_outputs(x).back(); }

  std::vector<torch::Tensor> layer_outputs(const torch::Tensor& x) override {
    std::vector<torch::Tensor> out;
    torch::Tensor h = x.dim() == 3 ? x.unsqueeze(1) : x;  // {N, height, width} samples: one channel
    for (auto& block : blocks_) out.push_back(h = block(h));
    // The last block's output goes flat, so the last entry is always the head's input.
    h = h.flatten(1);
    if (dense_) {
      out.push_back(dense_dropout_(activate(dense_(h), options_.activation)));
    } else {
      out.back() = h;
    }
    return out;
  }

  torch::Tensor head(const torch::Tensor& features) override { return head_(features); }

  void replace_head(std::int64_t classes) override {
    head_ = replace_module("head", torch::nn::Linear(/*in=*/feature_size(), /*out=*/classes));
  }

  std::vector<torch::Tensor> head_parameters() override { return head_->parameters(); }

  std::vector<std::vector<torch::Tensor>> backbone_layers() override {
    std::vector<std::vector<torch::Tensor>> layers;
    for (auto& block : blocks_) layers.push_back(block->parameters());
    if (dense_) layers.push_back(dense_->parameters());
    return layers;
  }

 private:
  std::int64_t feature_size() const { return options_.hidden > 0 ? options_.hidden : flat_; }

  CnnOptions options_;
  std::int64_t flat_ = 0;
  std::vector<ConvBlock> blocks_;
  torch::nn::Linear dense_{nullptr};
  lepton::nn::Dropout dense_dropout_{nullptr};
  torch::nn::Linear head_{nullptr};
};

class Cnn final : public lepton::Model {
 public:
  std::shared_ptr<lepton::Network> build(const lepton::ModelRequest& request) const override {
    lepton::ConfigObject params(request.params, request.path);
    CnnOptions o;
    o.blocks = static_cast<int>(params.integer_in("blocks", 1, 8, 2));
    o.channels = params.integer_in("channels", 1, 1024, 16);
    o.growth = params.number_in("growth", 1, 4, 2);
    o.kernel = params.integer_in("kernel", 1, 11, 3);
    o.pooling = params.one_of("pooling", {"max", "avg", "none"}, std::string("max"));
    o.batch_norm = params.optional<bool>("batch_norm", true);
    o.dropout = params.number_in("dropout", 0.0, 0.95, 0.0);
    o.hidden = params.integer_in("hidden", 0, 8192, 0);
    o.activation = params.one_of("activation", {"relu", "gelu", "tanh", "silu", "leaky_relu"}, std::string("relu"));
    params.finish();
    auto shape = request.shape.input;
    if (shape.size() == 2) shape.insert(shape.begin(), 1);  // {height, width}: one channel
    if (shape.size() != 3)
      throw ConfigError(request.path, "model cnn needs image samples {channels, height, width}, got shape " +
                                          lepton::json(request.shape.input).dump() +
                                          "; give the csv dataset a shape such as [1, 8, 8]");
    return std::make_shared<CnnNetwork>(shape[0], shape[1], shape[2], request.shape.classes, o);
  }
};

}  // namespace

LEPTON_PLUGIN() { registrar.add_model(std::make_unique<Cnn>()); }
