// The frozen backbone's features once per study, and the wrapper that trains only the head.
#include "train/tasks/frozen_backbone.hpp"

#include <torch/torch.h>

#include <set>

namespace lepton::engine {

namespace {

constexpr std::int64_t kChunk = 2048;

class HeadOnlyNetwork final : public Network {
 public:
  HeadOnlyNetwork(std::shared_ptr<Network> net, bool on_features) : on_features_(on_features) {
    net_ = register_module("model", std::move(net));
    net_->eval();
  }

  torch::Tensor features(const torch::Tensor& x) override {
    if (on_features_) return x;
    torch::NoGradGuard no_grad;
    return net_->features(x);
  }
  torch::Tensor head(const torch::Tensor& features) override { return net_->head(features); }
  void replace_head(std::int64_t classes) override { net_->replace_head(classes); }
  std::vector<torch::Tensor> head_parameters() override { return net_->head_parameters(); }
  std::vector<std::vector<torch::Tensor>> backbone_layers() override { return {}; }
  // The backbone stays in eval mode (batch norm keeps the source's statistics, no dropout), as it
  // was when its features were cached.
  void train(bool on) override {
    torch::nn::Module::train(on);
    net_->eval();
  }

  const std::shared_ptr<Network>& inner() const { return net_; }

 private:
  std::shared_ptr<Network> net_;
  bool on_features_;
};

at::Tensor backbone(Network& net, const at::Tensor& x) {
  if (x.size(0) == 0) return x;
  std::vector<at::Tensor> parts;
  for (std::int64_t begin = 0; begin < x.size(0); begin += kChunk)
    parts.push_back(net.features(x.slice(0, begin, std::min(begin + kChunk, x.size(0)))));
  return torch::cat(parts);
}

}  // namespace

BackboneFeatures::BackboneFeatures(std::shared_ptr<Network> source, const DataSplits& data)
    : source_(std::move(source)), data_(data) {}

const DataSplits& BackboneFeatures::data() const {
  std::call_once(once_, [&] {
    torch::NoGradGuard no_grad;
    source_->eval();
    features_ = data_;
    for (auto* split : {&features_.train, &features_.valid, &features_.test})
      if (split->x.defined()) split->x = backbone(*source_, split->x);
    features_.input_shape = {features_.train.x.size(1)};
    features_.categorical.clear();
  });
  return features_;
}

bool trains_head_only(const FinetuneSettings& settings, Network& net) {
  if (settings.backbone_lr_scale == 0) return true;
  const auto layers = net.backbone_layers();
  std::set<const void*> fixed;
  for (const auto& p : net.head_parameters()) fixed.insert(p.unsafeGetTensorImpl());
  for (int i = 0; i < settings.freeze_layers && i < static_cast<int>(layers.size()); ++i)
    for (const auto& p : layers[static_cast<std::size_t>(i)]) fixed.insert(p.unsafeGetTensorImpl());
  for (const auto& p : net.parameters())
    if (!fixed.count(p.unsafeGetTensorImpl())) return false;
  return true;
}

std::shared_ptr<Network> head_only(std::shared_ptr<Network> net, bool on_features) {
  return std::make_shared<HeadOnlyNetwork>(std::move(net), on_features);
}

std::shared_ptr<Network> without_head_only(const std::shared_ptr<Network>& net) {
  if (const auto* wrapped = dynamic_cast<const HeadOnlyNetwork*>(net.get())) return wrapped->inner();
  return net;
}

}  // namespace lepton::engine
