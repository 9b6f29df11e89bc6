// The torchscript model plugin on files Python writes at test time: the head and features it finds,
// the layers fine-tuning freezes, kept and re-initialized weights, one deep copy per network, a
// named submodule for feature distillation; and the export's tracer on a batch-size-bound network.
#include "artifacts/torchscript_export.hpp"
#include "train/trainer.hpp"
#include "support/plugins.hpp"
#include "support/torchscript.hpp"

#include <catch2/catch.hpp>
#include <torch/script.h>
#include <torch/torch.h>

using lepton::json;
using lepton::test::torchscript_module;
using namespace lepton::engine;

namespace {

std::shared_ptr<lepton::Network> build(const std::string& file, json params = json::object(), std::int64_t classes = 10,
                                       std::uint64_t seed = 1) {
  params["path"] = torchscript_module(file);
  lepton::ModelRequest request;
  request.params = params;
  request.shape = {{1, 8, 8}, classes};
  return build_network(lepton::test::build_plugins().model("torchscript"), "torchscript", request, seed);
}

torch::Tensor batch() {
  torch::manual_seed(3);
  return torch::randn({5, 1, 8, 8});
}

bool same(const std::vector<torch::Tensor>& a, const std::vector<torch::Tensor>& b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (!torch::equal(a[i], b[i])) return false;
  return true;
}

}  // namespace

TEST_CASE("torchscript: the file's forward, cut at its head, the top-level children are the backbone layers",
          "[torchscript][slow]") {
  auto net = build("cnn10.pt");
  auto file = torch::jit::load(torchscript_module("cnn10.pt"));
  net->eval();
  file.eval();
  torch::NoGradGuard no_grad;
  const auto x = batch();
  CHECK(torch::allclose(net->forward(x), file.forward({x}).toTensor(), 1e-5, 1e-6));
  CHECK(net->features(x).sizes() == std::vector<std::int64_t>{5, 64});  // fc's input
  CHECK(net->head_parameters().size() == 2);                            // fc.weight, fc.bias
  const auto layers = net->backbone_layers();
  REQUIRE(layers.size() == 3);  // conv1, bn1, conv2 (pool has no parameters)
  CHECK(layers[0].size() == 2);
  CHECK(net->named_parameters().contains("module.conv1.weight"));
  CHECK(net->named_buffers().contains("module.bn1.running_mean"));
  CHECK(net->layer_outputs(x).size() == 1);

  // The last Linear inside a Sequential; the child holding it is a backbone layer without it.
  auto classifier = build("classifier10.pt");
  classifier->eval();
  CHECK(classifier->features(x).sizes() == std::vector<std::int64_t>{5, 16});
  CHECK(classifier->backbone_layers().size() == 2);  // features, and classifier without its head classifier.2
  CHECK(classifier->backbone_layers()[1].size() == 2);
}

TEST_CASE("torchscript: kept weights are the file's, reset ones come from the seed, each network is its own copy",
          "[torchscript][slow]") {
  auto file = torch::jit::load(torchscript_module("cnn10.pt"));
  std::vector<torch::Tensor> saved;
  for (const auto& p : file.parameters()) saved.push_back(p);
  auto kept = build("cnn10.pt");
  CHECK(same(kept->parameters(), saved));
  auto reset = build("cnn10.pt", {{"init", "reset"}}, 10, 7);
  CHECK_FALSE(same(reset->parameters(), saved));
  CHECK(same(reset->parameters(), build("cnn10.pt", {{"init", "reset"}}, 10, 7)->parameters()));
  CHECK_FALSE(same(reset->parameters(), build("cnn10.pt", {{"init", "reset"}}, 10, 8)->parameters()));
  CHECK(torch::equal(reset->named_buffers()["module.bn1.running_var"], torch::ones({8})));

  // Training one network leaves another from the same file alone, and the file's module too.
  auto other = build("cnn10.pt");
  torch::optim::SGD sgd(kept->parameters(), 0.1);
  kept->train();
  torch::nn::functional::cross_entropy(kept->forward(batch()), torch::arange(5)).backward();
  sgd.step();
  CHECK_FALSE(same(kept->parameters(), saved));
  CHECK(same(other->parameters(), saved));
  CHECK(same(build("cnn10.pt")->parameters(), saved));
}

TEST_CASE("torchscript: a new head for other classes, and a named submodule's output for feature distillation",
          "[torchscript][slow]") {
  auto net = build("cnn10.pt", {{"feature_module", "conv2"}});
  net->eval();
  torch::NoGradGuard no_grad;
  const auto x = batch();
  const auto before = net->features(x);
  const auto outputs = net->layer_outputs(x);
  REQUIRE(outputs.size() == 2);
  CHECK(outputs[0].sizes() == std::vector<std::int64_t>{5, 16, 8, 8});
  CHECK(torch::allclose(outputs[1], before));
  net->replace_head(4);
  CHECK(net->forward(x).sizes() == std::vector<std::int64_t>{5, 4});
  CHECK(torch::equal(net->features(x), before));
  CHECK(net->head_parameters()[0].sizes() == std::vector<std::int64_t>{4, 64});
  CHECK(net->head_parameters()[0].requires_grad());
}

TEST_CASE("torchscript: check() refuses other class counts and shapes, build() gives a saved fine-tuned head its width",
          "[torchscript][slow]") {
  const auto& model = lepton::test::build_plugins().model("torchscript");
  lepton::ModelRequest request;
  request.params = {{"path", torchscript_module("cnn10.pt")}};
  request.shape = {{1, 8, 8}, 5};
  CHECK_THROWS_WITH(model.check(request), Catch::Contains("model.path: cnn10.pt outputs 10 values per sample (its head \"fc\")") &&
                                              Catch::Contains("the data has 5 classes"));
  // Loading a model fine-tuned to 5 classes rebuilds it with a 5-wide head, then fills in its weights.
  auto rebuilt = build("cnn10.pt", json::object(), 5);
  rebuilt->eval();
  CHECK(rebuilt->forward(batch()).sizes() == std::vector<std::int64_t>{5, 5});
  request.shape.classes = 10;
  CHECK_NOTHROW(model.check(request));
  request.params = {{"path", torchscript_module("rgb10.pt")}};
  CHECK_THROWS_WITH(model.check(request), Catch::Contains("cannot take the data's samples of shape [1,8,8]") &&
                                              Catch::Contains("its first layer conv1 (Conv2d) takes 3 input channels"));
  request.params = {{"path", torchscript_module("cnn10.pt")}, {"init", "again"}};
  CHECK_THROWS_AS(model.check(request), lepton::ConfigError);
}

namespace {

// Flattens its samples with flatten(1), or with the batch size read by size(0), which the tracer
// records as a constant.
class Flat final : public lepton::Network {
 public:
  explicit Flat(bool batch_bound) : batch_bound_(batch_bound) { head_ = register_module("head", torch::nn::Linear(64, 3)); }
  torch::Tensor features(const torch::Tensor& x) override {
    return batch_bound_ ? x.reshape({x.size(0) * 64}).view({x.size(0), 64}) : torch::relu(x.flatten(1));
  }
  torch::Tensor head(const torch::Tensor& f) override { return head_(f); }
  void replace_head(std::int64_t) override {}
  std::vector<torch::Tensor> head_parameters() override { return head_->parameters(); }
  std::vector<std::vector<torch::Tensor>> backbone_layers() override { return {}; }

 private:
  bool batch_bound_;
  torch::nn::Linear head_{nullptr};
};

}  // namespace

TEST_CASE("export: a traced network keeps its parameters by name and must agree at another batch size",
          "[torchscript][export][slow]") {
  bool traced = false;
  Flat flat(/*batch_bound=*/false);
  flat.eval();
  auto module = script_network(flat, {1, 8, 8}, "flat", traced);
  CHECK(traced);
  std::vector<std::string> names;
  for (const auto& p : module.named_parameters()) names.push_back(p.name);
  CHECK(names == std::vector<std::string>{"head.weight", "head.bias"});
  const auto x = torch::randn({9, 1, 8, 8});
  CHECK(torch::allclose(module.forward({x}).toTensor(), flat.forward(x)));

  Flat bound(/*batch_bound=*/true);
  bound.eval();
  CHECK_THROWS_WITH(script_network(bound, {1, 8, 8}, "bound", traced),
                    Catch::Contains("--format: model bound: the traced network disagrees with the network") &&
                        Catch::Contains("x.size(0) in a reshape"));

  auto scripted = build("cnn10.pt");
  scripted->eval();
  script_network(*scripted, {1, 8, 8}, "torchscript", traced);
  CHECK_FALSE(traced);
}
