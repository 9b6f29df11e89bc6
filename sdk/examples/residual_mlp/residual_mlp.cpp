// Example model: an MLP with residual blocks (x + f(LayerNorm(x))). The backbone is the stem and
// the blocks, one layer each, so fine-tuning can freeze them in order; the head is one Linear.
#include <lepton/lepton.hpp>

#include <torch/torch.h>

#include <numeric>

namespace {

struct ResidualBlockImpl : torch::nn::Module {
  explicit ResidualBlockImpl(std::int64_t width, double dropout)
      : norm(register_module("norm", torch::nn::LayerNorm(torch::nn::LayerNormOptions({width})))),
        inner(register_module("inner", torch::nn::Linear(/*in=*/width, /*out=*/2 * width))),
        outer(register_module("outer", torch::nn::Linear(/*in=*/2 * width, /*out=*/width))),
        drop(register_module("dropout", lepton::nn::Dropout(dropout))) {}
  torch::Tensor forward(const torch::Tensor& x) { return x + drop(outer(torch::gelu(inner(norm(x))))); }
  torch::nn::LayerNorm norm;
  torch::nn::Linear inner, outer;
  lepton::nn::Dropout drop;  // draws from the trial's generator: parallel trials stay reproducible
};
TORCH_MODULE(ResidualBlock);

class ResidualMlp final : public lepton::Network {
 public:
  ResidualMlp(std::int64_t inputs, std::int64_t classes, std::int64_t width, int blocks, double dropout) : width_(width) {
    stem_ = register_module("stem", torch::nn::Linear(/*in=*/inputs, /*out=*/width));
    for (int i = 0; i < blocks; ++i) blocks_.push_back(register_module("block" + std::to_string(i), ResidualBlock(width, dropout)));
    head_ = register_module("head", torch::nn::Linear(/*in=*/width, /*out=*/classes));
  }
  torch::Tensor features(const torch::Tensor& x) override {
    torch::Tensor h = stem_(x.flatten(1));
    for (auto& block : blocks_) h = block(h);
    return torch::gelu(h);
  }
  torch::Tensor head(const torch::Tensor& features) override { return head_(features); }
  void replace_head(std::int64_t classes) override {
    head_ = replace_module("head", torch::nn::Linear(/*in=*/width_, /*out=*/classes));
  }
  std::vector<torch::Tensor> head_parameters() override { return head_->parameters(); }
  std::vector<std::vector<torch::Tensor>> backbone_layers() override {
    std::vector<std::vector<torch::Tensor>> layers{stem_->parameters()};
    for (auto& block : blocks_) layers.push_back(block->parameters());
    return layers;
  }

 private:
  std::int64_t width_;
  torch::nn::Linear stem_{nullptr}, head_{nullptr};
  std::vector<ResidualBlock> blocks_;
};

class ResidualMlpModel final : public lepton::Model {
 public:
  std::shared_ptr<lepton::Network> build(const lepton::ModelRequest& request) const override {
    lepton::ConfigObject params(request.params, request.path);
    const std::int64_t width = params.integer_in("width", 2, 4096, 64);
    const int blocks = static_cast<int>(params.integer_in("blocks", 0, 32, 2));
    const double dropout = params.number_in("dropout", 0.0, 0.9, 0.0);
    params.finish();
    const auto& shape = request.shape.input;
    const std::int64_t inputs = std::accumulate(shape.begin(), shape.end(), std::int64_t{1}, std::multiplies<>());
    return std::make_shared<ResidualMlp>(inputs, request.shape.classes, width, blocks, dropout);
  }
};

}  // namespace

LEPTON_PLUGIN() { registrar.add_model(std::make_unique<ResidualMlpModel>()); }
