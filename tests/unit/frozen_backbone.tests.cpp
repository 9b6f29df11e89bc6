// A frozen backbone: when a fine-tuning trial trains only the head, the features computed once
// per study and the head trained on them give the same run as the backbone run every step.
#include "train/tasks/frozen_backbone.hpp"
#include "train/trainer.hpp"
#include "support/plugins.hpp"

#include <catch2/catch.hpp>
#include <torch/torch.h>

using namespace lepton::engine;
using lepton::json;

namespace {

std::shared_ptr<lepton::Network> cnn(std::uint64_t seed) {
  lepton::ModelRequest request;
  request.params = {{"blocks", 2}, {"channels", 4}, {"batch_norm", true}, {"dropout", 0.3}};
  request.shape = {{1, 8, 8}, 3};
  return build_network(lepton::test::build_plugins().model("cnn"), "cnn", request, seed);
}

lepton::DataSplits images() {
  torch::manual_seed(0);
  lepton::DataSplits data;
  data.train = {torch::randn({40, 1, 8, 8}), torch::randint(3, {40}, torch::kLong)};
  data.valid = {torch::randn({20, 1, 8, 8}), torch::randint(3, {20}, torch::kLong)};
  data.test = {torch::randn({10, 1, 8, 8}), torch::randint(3, {10}, torch::kLong)};
  data.input_shape = {1, 8, 8};
  data.class_names = {"a", "b", "c"};
  return data;
}

}  // namespace

TEST_CASE("a fine-tuning trial trains only the head at backbone_lr_scale 0 or with every layer frozen", "[tasks][torchscript]") {
  auto net = cnn(1);
  FinetuneSettings s;
  s.backbone_lr_scale = 0;
  CHECK(trains_head_only(s, *net));
  s.backbone_lr_scale = 0.5;
  s.freeze_layers = 1;
  CHECK_FALSE(trains_head_only(s, *net));
  s.freeze_layers = 2;  // both conv blocks
  CHECK(trains_head_only(s, *net));
}

TEST_CASE("the frozen backbone's features, computed once, train the head as the backbone run every step does",
          "[tasks][torchscript]") {
  const auto data = images();
  auto source = cnn(1);
  source->eval();
  const BackboneFeatures cache(source, data);
  const auto& features = cache.data();
  CHECK(&features == &cache.data());  // computed once, then shared
  CHECK(features.input_shape == std::vector<std::int64_t>{features.train.x.size(1)});
  CHECK(torch::equal(features.train.y, data.train.y));
  {
    torch::NoGradGuard no_grad;
    CHECK(torch::allclose(features.test.x, source->features(data.test.x)));
  }

  // Two trials from the same source weights: one on the cached features, one through the backbone.
  TrainSettings settings;
  settings.epochs = 3;
  settings.batch_size = 8;
  std::vector<double> losses[2];
  std::shared_ptr<lepton::Network> trained[2];
  for (const bool on_features : {true, false}) {
    lepton::TrialGeneratorScope random(5);
    auto net = cnn(1);
    auto head = head_only(net, on_features);
    TrainingRun run(head, on_features ? features.train : data.train, settings, {ParamGroup{net->head_parameters(), 1.0, 1}});
    for (int epoch = 1; epoch <= 3; ++epoch) losses[on_features].push_back(run.train_epoch(epoch));
    CHECK_FALSE(net->is_training());  // the backbone stays in eval mode: no dropout, the source's batch statistics
    CHECK(without_head_only(head) == net);
    trained[on_features] = net;
  }
  for (int e = 0; e < 3; ++e) CHECK(losses[true][e] == Approx(losses[false][e]).epsilon(1e-4));
  // The backbone kept the source's weights and statistics; only the heads trained, alike.
  const auto a = trained[true]->named_parameters(), b = trained[false]->named_parameters();
  CHECK(torch::equal(a["block0.conv.weight"], source->named_parameters()["block0.conv.weight"]));
  CHECK(torch::equal(trained[true]->named_buffers()["block0.norm.running_mean"], source->named_buffers()["block0.norm.running_mean"]));
  CHECK(torch::allclose(a["head.weight"], b["head.weight"], 1e-4, 1e-5));
}
