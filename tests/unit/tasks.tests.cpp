// The distillation loss against its formula, feature distillation's projection, and the network
// and parameter groups fine-tuning starts from.
#include "plugins/registry.hpp"
#include "train/tasks/distill.hpp"
#include "train/tasks/finetune.hpp"

#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <set>

using namespace lepton::engine;
using lepton::json;

namespace {

std::shared_ptr<lepton::Network> build(const Registry& registry, const std::string& plugin, json params,
                                       std::vector<std::int64_t> shape, std::int64_t classes, std::uint64_t seed) {
  lepton::ModelRequest request;
  request.params = std::move(params);
  request.shape.input = std::move(shape);
  request.shape.classes = classes;
  return build_network(registry.model(plugin), plugin, request, seed);
}

lepton::DataSplits random_images(std::int64_t n, std::int64_t classes) {
  torch::manual_seed(0);
  lepton::DataSplits data;
  data.train = {torch::randn({n, 1, 8, 8}), torch::randint(classes, {n}, torch::kLong)};
  data.valid = {torch::randn({n / 2, 1, 8, 8}), torch::randint(classes, {n / 2}, torch::kLong)};
  data.input_shape = {1, 8, 8};
  for (std::int64_t c = 0; c < classes; ++c) data.class_names.push_back(std::to_string(c));
  return data;
}

}  // namespace

TEST_CASE("the distillation loss is alpha T^2 KL(teacher || student) + (1 - alpha) CE", "[tasks]") {
  Registry registry;
  registry.load_default();
  const auto data = random_images(40, 4);
  auto teacher_net = build(registry, "cnn", {{"channels", 4}}, {1, 8, 8}, 4, 1);
  const Teacher teacher(teacher_net, data);
  REQUIRE(teacher.pool_logits().size(0) == 60);  // train rows then valid rows
  auto student = build(registry, "mlp", {{"layers", 1}, {"hidden", 8}}, {1, 8, 8}, 4, 2);
  DistillSettings s;
  s.temperature = 3;
  s.alpha = 0.6;
  const auto rows = torch::arange(40, torch::kLong);
  auto loss = make_distillation_loss(teacher, rows, *student, data.train.x.slice(0, 0, 1), s, 7);
  const auto order = torch::randperm(40, torch::kLong);
  loss->begin_epoch(order);
  const auto x = data.train.x.index_select(0, order).slice(0, 5, 15);
  const auto y = data.train.y.index_select(0, order).slice(0, 5, 15);
  const double got = loss->loss(*student, Batch{x, y, 5, 15}).item<double>();

  const auto s_logits = student->forward(x).to(torch::kDouble);
  const auto t_logits = teacher.pool_logits().index_select(0, order).slice(0, 5, 15).to(torch::kDouble);
  const auto p_t = torch::softmax(t_logits / 3, 1);
  const auto kl = (p_t * (torch::log(p_t) - torch::log_softmax(s_logits / 3, 1))).sum() / 10;
  const auto ce = torch::nn::functional::cross_entropy(s_logits, y);
  CHECK(got == Approx((0.6 * 9 * kl + 0.4 * ce).item<double>()).epsilon(1e-5));
  CHECK(loss->parameters().empty());  // no feature term, no projection
}

TEST_CASE("feature distillation trains a projection from a student layer onto a teacher layer", "[tasks]") {
  Registry registry;
  registry.load_default();
  const auto data = random_images(32, 3);
  auto teacher_net = build(registry, "cnn", {{"blocks", 2}, {"channels", 6}}, {1, 8, 8}, 3, 1);
  const Teacher teacher(teacher_net, data);
  CHECK(teacher.layer_count() == 2);
  const auto rows = torch::arange(32, torch::kLong);
  for (const auto& [student_params, teacher_layer] :
       std::vector<std::pair<json, int>>{{{{"blocks", 1}, {"channels", 2}, {"hidden", 5}}, 0},  // image -> image: 1x1 conv
                                         {{{"blocks", 1}, {"channels", 2}}, -1}}) {          // flat -> flat: linear
    auto student = build(registry, "cnn", student_params, {1, 8, 8}, 3, 2);
    DistillSettings s;
    s.feature_weight = 2;
    s.teacher_layer = teacher_layer;
    s.student_layer = 0;
    auto loss = make_distillation_loss(teacher, rows, *student, data.train.x.slice(0, 0, 1), s, 7);
    const auto projection = loss->parameters();
    REQUIRE_FALSE(projection.empty());
    loss->begin_epoch(torch::arange(32, torch::kLong));
    for (auto& p : projection) p.mutable_grad() = torch::Tensor();
    loss->loss(*student, Batch{data.train.x.slice(0, 0, 8), data.train.y.slice(0, 0, 8), 0, 8}).backward();
    CHECK(projection.front().grad().abs().sum().item<double>() > 0);  // the hint reaches the projection
  }
  CHECK(teacher.pool_features(1).size(0) == 48);  // small enough to keep: computed once
  CHECK(resolve_layer(-1, 3, "student_layer") == 2);
  CHECK_THROWS_WITH(resolve_layer(3, 3, "teacher_layer"),
                    "teacher_layer 3 is out of range: the network has 3 backbone layer(s) (0..2, or -3..-1 from the end)");
}

TEST_CASE("fine-tuning starts from the source's weights with a new head and frozen layers", "[tasks]") {
  Registry registry;
  registry.load_default();
  SourceModel source;
  source.card.model_plugin = "mlp";
  source.card.model_params = {{"layers", 2}, {"hidden", 12}};
  source.card.input_shape = {64};
  source.card.class_names = {"0", "1", "2"};
  source.description = "a test source";
  source.net = build(registry, "mlp", source.card.model_params, {64}, 3, 1);

  FinetuneSettings s;
  s.freeze_layers = 1;
  s.backbone_lr_scale = 0.1;
  s.head_epochs = 2;
  const auto start = finetune_start(source, registry.model("mlp"), "mlp", json::object(), {"5", "6"}, s, 9);
  CHECK(start.new_head);
  const auto params = start.net->named_parameters();
  CHECK(params["head.weight"].size(0) == 2);
  CHECK(torch::equal(params["linear0.weight"], source.net->named_parameters()["linear0.weight"]));
  CHECK(torch::equal(params["linear1.weight"], source.net->named_parameters()["linear1.weight"]));
  REQUIRE(start.groups.size() == 2);
  CHECK(start.groups[0].params.size() == 2);  // the head, from epoch 1
  CHECK(start.groups[0].first_epoch == 1);
  CHECK(start.groups[1].lr_scale == 0.1);     // linear1 only: linear0 is frozen
  CHECK(start.groups[1].first_epoch == 3);
  std::set<const void*> trained;
  for (const auto& g : start.groups)
    for (const auto& p : g.params) trained.insert(p.unsafeGetTensorImpl());
  CHECK(trained.count(params["linear0.weight"].unsafeGetTensorImpl()) == 0);
  CHECK(trained.count(params["linear1.weight"].unsafeGetTensorImpl()) == 1);

  // Same classes: the head is kept; too many frozen layers or a changed width fail the trial.
  CHECK_FALSE(finetune_start(source, registry.model("mlp"), "mlp", json::object(), {"0", "1", "2"}, {}, 9).new_head);
  CHECK(needs_new_head("auto", {"0", "1"}, {"1", "0"}));
  s.freeze_layers = 3;
  CHECK_THROWS_WITH(finetune_start(source, registry.model("mlp"), "mlp", json::object(), {"5", "6"}, s, 9),
                    "freeze_layers 3 exceeds the 2 backbone layers of model mlp");
  CHECK_THROWS_WITH(finetune_start(source, registry.model("mlp"), "mlp", {{"hidden", 20}}, {"5", "6"}, {}, 9),
                    Catch::Contains("linear0.weight has shape [12, 64] in the source (a test source) but [20, 64] here"));
}

TEST_CASE("a mixed batch weighs each sample's label and its partner's by the mixing weight", "[tasks]") {
  const auto logits = torch::tensor({{2.0, 0.5, -1.0}, {0.1, 0.2, 0.3}, {-1.0, 3.0, 0.0}});
  Batch batch{torch::zeros({3, 1}), torch::tensor({0, 1, 2}, torch::kLong), 0, 3};
  CHECK(label_loss(logits, batch).item<double>() ==
        Approx(torch::nn::functional::cross_entropy(logits, batch.y).item<double>()));
  batch.partner_y = torch::tensor({1, 1, 0}, torch::kLong);
  batch.lambda = torch::tensor({1.0, 0.5, 0.25});
  const auto ce = [&](const at::Tensor& y) {
    return torch::nn::functional::cross_entropy(logits, y, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kNone));
  };
  const double expected = (batch.lambda * ce(batch.y) + (1 - batch.lambda) * ce(batch.partner_y)).mean().item<double>();
  CHECK(label_loss(logits, batch).item<double>() == Approx(expected));
}
