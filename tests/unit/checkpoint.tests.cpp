// Saved models: a round trip gives the same network; mismatches are refused with the reason.
#include "plugins/registry.hpp"
#include "train/checkpoint.hpp"
#include "train/trainer.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <filesystem>

using namespace lepton::engine;
using lepton::json;

namespace {

ModelCard card_for(const std::string& plugin, json params, std::vector<std::int64_t> shape, int classes) {
  ModelCard card;
  card.model_plugin = plugin;
  card.model_params = std::move(params);
  card.input_shape = std::move(shape);
  for (int c = 0; c < classes; ++c) card.class_names.push_back("class " + std::to_string(c));
  card.dataset_plugin = "csv";
  card.dataset_config = {{"path", "x.csv"}};
  card.dataset_fitted = {{"labels", {"0", "1", "2"}}};
  card.subset_classes = {2, 0, 1};
  card.provenance = {{"trial", 4}};
  return card;
}

std::shared_ptr<lepton::Network> build(const Registry& registry, const ModelCard& card, std::uint64_t seed) {
  lepton::ModelRequest request;
  request.params = card.model_params;
  request.shape.input = card.input_shape;
  request.shape.classes = static_cast<std::int64_t>(card.class_names.size());
  return build_network(registry.model(card.model_plugin), card.model_plugin, request, seed);
}

}  // namespace

TEST_CASE("a saved model loads back with the same outputs, buffers included", "[checkpoint]") {
  Registry registry;
  registry.load_default();
  lepton::test::TempDir dir;
  const auto card = card_for("cnn", {{"blocks", 2}, {"channels", 4}, {"hidden", 8}}, {1, 8, 8}, 3);
  auto net = build(registry, card, 5);
  // Train a little so batch-norm running statistics differ from their initial values.
  net->train();
  for (int i = 0; i < 3; ++i) net->forward(torch::randn({16, 1, 8, 8}));
  const auto x = torch::randn({5, 1, 8, 8});
  const auto expected = predict_logits(*net, x);
  const std::string folder = dir.file("model");
  save_model(folder, *net, card);
  CHECK(std::filesystem::is_regular_file(folder + "/model.json"));
  CHECK(std::filesystem::is_regular_file(folder + "/weights.pt"));

  const ModelCard read = read_model_card(folder, "source");
  CHECK(read.to_json() == card.to_json());
  const auto loaded = load_model(folder, read, registry, "source");
  CHECK(torch::equal(predict_logits(*loaded, x), expected));
  CHECK(read_model_card(folder + "/model.json", "source").model_plugin == "cnn");  // the file itself works too

  // Saving again replaces the folder atomically (no temporary folder left behind).
  save_model(folder, *build(registry, card, 6), card);
  CHECK_FALSE(torch::equal(predict_logits(*load_model(folder, card, registry, "source"), x), expected));
  int entries = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator(dir.path())) ++entries;
  CHECK(entries == 1);
}

TEST_CASE("weights that do not fit the network are refused, naming the tensor", "[checkpoint]") {
  Registry registry;
  registry.load_default();
  lepton::test::TempDir dir;
  const auto card = card_for("mlp", {{"layers", 1}, {"hidden", 16}}, {64}, 10);
  save_model(dir.file("m"), *build(registry, card, 1), card);
  auto wider = card;
  wider.model_params["hidden"] = 32;
  CHECK_THROWS_WITH(load_model(dir.file("m"), wider, registry, "task.source"),
                    Catch::Contains("task.source") && Catch::Contains("linear0.weight has shape [16, 64] in the saved weights but [32, 64]"));
  auto deeper = card;
  deeper.model_params["layers"] = 2;
  CHECK_THROWS_WITH(load_model(dir.file("m"), deeper, registry, "task.source"), Catch::Contains("linear1"));
  CHECK_THROWS_WITH(read_model_card(dir.file("nothing"), "task.source"), Catch::Contains("task.source: no saved model at"));

  auto a = build(registry, card, 1);
  auto b = build(registry, card, 2);
  copy_weights(*a, *b, "the source");
  CHECK(torch::equal(a->parameters()[0], b->parameters()[0]));
  CHECK_THROWS_WITH(copy_weights(*a, *build(registry, wider, 3), "the source"), Catch::Contains("linear0.weight has shape"));
}

TEST_CASE("export copies a model and refuses to overwrite one without --force", "[checkpoint]") {
  Registry registry;
  registry.load_default();
  lepton::test::TempDir dir;
  const auto card = card_for("mlp", {{"layers", 1}, {"hidden", 4}}, {64}, 10);
  save_model(dir.file("trial-0"), *build(registry, card, 1), card);
  copy_model(dir.file("trial-0"), dir.file("out"), false);
  CHECK(read_model_card(dir.file("out"), "-o").to_json() == card.to_json());
  CHECK_THROWS_WITH(copy_model(dir.file("trial-0"), dir.file("out"), false), Catch::Contains("--force"));
  CHECK_NOTHROW(copy_model(dir.file("trial-0"), dir.file("out"), true));
}
