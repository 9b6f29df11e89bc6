// Preprocessing fitted on the training split only: a validation split shifted far from the training
// data must stay shifted after the transform (statistics computed on it would pull it back), and a
// trial records how many rows its statistics came from.
#include "plugins/registry.hpp"
#include "train/preprocess.hpp"
#include "run/study.hpp"
#include "run/trial_runner.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>
#include <torch/torch.h>

using lepton::json;
using namespace lepton::engine;

namespace {

constexpr double kShift = 50.0;

// Two classes split by the sign of feature 0 in training; validation is the same task moved by
// kShift along feature 0 (its labels follow the sign of x0 - kShift), balanced.
lepton::DataSplits shifted_splits() {
  torch::manual_seed(5);
  auto make = [](std::int64_t n, double shift) {
    torch::Tensor x = torch::randn({n, 3});
    torch::Tensor y = (x.select(1, 0) > 0).to(torch::kLong);
    x.select(1, 0).add_(shift);
    return lepton::Split{x, y};
  };
  lepton::DataSplits data;
  data.train = make(200, 0.0);
  data.valid = make(100, kShift);
  data.input_shape = {3};
  data.class_names = {"negative", "positive"};
  return data;
}

}  // namespace

TEST_CASE("standardize and min-max use training statistics only, a shifted split stays shifted", "[preprocess]") {
  const lepton::DataSplits data = shifted_splits();
  const Preprocessor standard = fit_preprocessor({{"scaler", "standardize"}}, data.train.x);
  CHECK(standard.fitted_rows == 200);
  const torch::Tensor train = standard.apply(data.train.x);
  CHECK(train.mean(0).abs().max().item<double>() < 1e-5);
  CHECK(train.pow(2).mean(0).sub(1).abs().max().item<double>() < 1e-4);
  // Statistics from the validation split (or train + valid) would put its mean near 0 (or kShift/2).
  const double valid_mean = standard.apply(data.valid.x).select(1, 0).mean().item<double>();
  const torch::Tensor x0 = data.train.x.select(1, 0);
  const double train_std = (x0 - x0.mean()).pow(2).mean().sqrt().item<double>();
  CHECK(valid_mean == Approx(kShift / train_std).epsilon(0.1));

  const Preprocessor minmax = fit_preprocessor({{"scaler", "minmax"}}, data.train.x);
  const torch::Tensor scaled = minmax.apply(data.train.x);
  CHECK(scaled.min().item<double>() == Approx(0).margin(1e-6));
  CHECK(scaled.max().item<double>() == Approx(1).margin(1e-6));
  CHECK(minmax.apply(data.valid.x).select(1, 0).min().item<double>() > 5);
}

TEST_CASE("PCA keeps the components asked for, or 95% of the variance, with reproducible signs", "[preprocess]") {
  torch::manual_seed(3);
  // 6 features that really span 2 directions, plus a little noise.
  const torch::Tensor x = torch::matmul(torch::randn({300, 2}), torch::randn({2, 6})) + 0.01 * torch::randn({300, 6});
  const Preprocessor two = fit_preprocessor({{"scaler", "standardize"}, {"pca", true}}, x);
  CHECK(two.output_shape() == std::vector<std::int64_t>{2});
  const Preprocessor four = fit_preprocessor({{"pca", true}, {"pca_components", 4}}, x);
  CHECK(four.output_shape() == std::vector<std::int64_t>{4});
  const torch::Tensor gram = torch::matmul(four.components.t(), four.components);
  CHECK(torch::allclose(gram, torch::eye(4), 1e-4, 1e-4));
  const Preprocessor capped = fit_preprocessor({{"pca", true}, {"pca_components", 50}}, x);
  CHECK(capped.output_shape() == std::vector<std::int64_t>{6});
  const torch::Tensor projected = two.apply(x);
  CHECK(projected.sizes() == torch::IntArrayRef{300, 2});
  CHECK(projected.mean(0).abs().max().item<double>() < 1e-4);  // centred on the training mean
  const Preprocessor again = fit_preprocessor({{"scaler", "standardize"}, {"pca", true}}, x);
  CHECK(torch::equal(again.components, two.components));
}

TEST_CASE("image-shaped samples keep their shape through scaling", "[preprocess]") {
  const torch::Tensor images = torch::rand({20, 1, 4, 4}) * 16;
  const Preprocessor pre = fit_preprocessor({{"scaler", "minmax"}}, images);
  CHECK(pre.apply(images).sizes() == images.sizes());
  CHECK(fit_preprocessor({{"scaler", "none"}}, images).identity());
}

TEST_CASE("a trial fits its preprocessing on the training split: a shifted validation split is not pulled back",
          "[preprocess]") {
  Registry registry;
  registry.load_default();
  json document = lepton::test::small_experiment("leak", 1, 30);
  document["model"] = {{"plugin", "linear"}};
  document["task"]["lr"] = 0.1;
  document["search"]["space"] = {{"scaler", {{"type", "categorical"}, {"choices", {"standardize", "minmax"}}}}};
  PreparedExperiment prepared;
  prepared.experiment = parse_experiment(document, {});
  prepared.model_plugin = "linear";
  prepared.data = std::make_shared<lepton::DataSplits>(shifted_splits());
  for (const std::string scaler : {"standardize", "minmax"}) {
    TrialRecord trial;
    trial.seed = 9;
    trial.params = {{"scaler", scaler}};
    const TrialResult result = run_trial(prepared, registry, trial, [](int, double) { return false; });
    INFO(scaler << ": " << result.error);
    REQUIRE(result.state == lepton::TrialState::kComplete);
    CHECK(result.attrs.at("preprocess").at("fitted_rows") == 200);
    CHECK(result.attrs.at("preprocess").at("scaler") == scaler);
    // Fitted on training data, the transform leaves every validation sample on the positive side,
    // so half of them are misclassified; statistics fitted on validation data would re-centre
    // them and the linear model would score near 1.
    CHECK(result.metrics.at("val_accuracy") == Approx(0.5).margin(0.1));
    CHECK(result.metrics.at("train_loss") < 0.3);
  }
}

TEST_CASE("categorical features are one-hot encoded (after the numbers) or left as indices", "[preprocess]") {
  // Column 1 holds a category index out of 3; columns 0 and 2 are numbers.
  const torch::Tensor x = torch::tensor({{0.5f, 2.f, -1.f}, {1.5f, 0.f, 3.f}, {2.5f, 1.f, 5.f}, {3.5f, 2.f, 7.f}});
  const std::vector<lepton::CategoricalColumn> categorical{{1, {"red", "green", "blue"}}};
  CHECK(wants_preprocessing(json::object(), categorical));  // one-hot is the default
  CHECK_FALSE(wants_preprocessing({{"encoding", "ordinal"}}, categorical));
  CHECK_FALSE(wants_preprocessing(json::object()));

  const Preprocessor onehot = fit_preprocessor(json::object(), x, categorical);
  CHECK(onehot.output_shape() == std::vector<std::int64_t>{5});
  const torch::Tensor encoded = onehot.apply(x);
  const torch::Tensor expected = torch::tensor({{0.5f, -1.f, 0.f, 0.f, 1.f},
                                                {1.5f, 3.f, 1.f, 0.f, 0.f},
                                                {2.5f, 5.f, 0.f, 1.f, 0.f},
                                                {3.5f, 7.f, 0.f, 0.f, 1.f}});
  CHECK(torch::equal(encoded, expected));
  // A category the training data never declared (here 7) flags none of the columns.
  CHECK(torch::equal(onehot.apply(torch::tensor({{0.f, 7.f, 0.f}})), torch::zeros({1, 5})));

  // Scaling and PCA then work on the encoded columns: standardized one-hot columns have mean 0.
  const Preprocessor scaled = fit_preprocessor({{"scaler", "standardize"}}, x, categorical);
  CHECK(scaled.shift.size(0) == 5);
  CHECK(scaled.apply(x).mean(0).abs().max().item<double>() < 1e-5);
  const Preprocessor projected = fit_preprocessor({{"pca", true}, {"pca_components", 2}}, x, categorical);
  CHECK(projected.apply(x).sizes() == torch::IntArrayRef{4, 2});

  // Ordinal: the index passes through as a number.
  const Preprocessor ordinal = fit_preprocessor({{"encoding", "ordinal"}, {"scaler", "minmax"}}, x, categorical);
  CHECK(ordinal.output_shape() == std::vector<std::int64_t>{3});
  CHECK(ordinal.apply(x).select(1, 1).max().item<double>() == Approx(1));

  // A saved network's description rebuilds the same encoding (its statistics come from the weights).
  const json described = scaled.describe();
  CHECK(described.at("onehot") == json::parse("[[1, 3]]"));
  Preprocessor rebuilt = blank_preprocessor(described, {3});
  CHECK(rebuilt.output_shape() == std::vector<std::int64_t>{5});
  rebuilt.shift.copy_(scaled.shift);
  rebuilt.scale.copy_(scaled.scale);
  CHECK(torch::allclose(rebuilt.apply(x), scaled.apply(x)));
}

TEST_CASE("with cross-validation each fold fits its preprocessing on that fold's training rows only", "[preprocess]") {
  Registry registry;
  registry.load_default();
  json document = lepton::test::small_experiment("folds", 1, 2);
  document["model"] = {{"plugin", "linear"}};
  document["task"]["cross_validation"] = {{"folds", 5}, {"seed", 0}, {"refit", false}};
  document["search"]["space"] = {{"scaler", {{"type", "categorical"}, {"choices", {"standardize"}}}}};
  PreparedExperiment prepared;
  prepared.experiment = parse_experiment(document, {});
  prepared.model_plugin = "linear";
  prepared.data = std::make_shared<lepton::DataSplits>(shifted_splits());
  TrialRecord trial;
  trial.seed = 3;
  trial.params = {{"scaler", "standardize"}};
  const TrialResult result = run_trial(prepared, registry, trial, [](int, double) { return false; });
  INFO(result.error);
  REQUIRE(result.state == lepton::TrialState::kComplete);
  // The pool is train + valid (300 rows); each fold trains on the 240 rows outside its validation fifth.
  const json& fitted = result.attrs.at("preprocess");
  REQUIRE(fitted.is_array());
  REQUIRE(fitted.size() == 5);
  for (const auto& fold : fitted) CHECK(fold.at("fitted_rows") == 240);
}

TEST_CASE("raw pixels are scaled inside the network, before the fitted steps, and a network gets that step once",
          "[preprocess][images]") {
  torch::manual_seed(3);
  const auto bytes = torch::randint(0, 256, {6, 3, 4, 4}, torch::kByte);
  const lepton::PixelScaling pixels{{0.5, 0.25, 0.0}, {0.2, 0.5, 1.0}};
  const auto expected = (bytes.to(torch::kFloat) / 255 - torch::tensor({0.5, 0.25, 0.0}).view({1, 3, 1, 1})) /
                        torch::tensor({0.2, 0.5, 1.0}).view({1, 3, 1, 1});
  const Preprocessor pre = fit_preprocessor(json::object(), bytes, {}, pixels);
  CHECK_FALSE(pre.identity());
  CHECK_FALSE(pre.fits_features());
  CHECK(torch::allclose(pre.apply(bytes), expected, 1e-5, 1e-6));
  // Floats on the same 0..255 scale (an augmented or mixed batch) read the same.
  CHECK(torch::allclose(pre.apply(bytes.to(torch::kFloat)), expected, 1e-5, 1e-6));

  // Later steps are fitted on the scaled pixels.
  const Preprocessor standardized = fit_preprocessor({{"scaler", "standardize"}}, bytes, {}, pixels);
  CHECK(torch::allclose(standardized.shift, expected.flatten(1).mean(0), 1e-5, 1e-6));
  CHECK(standardized.apply(bytes).flatten(1).mean(0).abs().max().item<double>() < 1e-5);

  // A saved network's description rebuilds the step; its statistics come back with the buffers.
  const json described = pre.describe();
  CHECK(described.at("pixels") == 3);
  Preprocessor rebuilt = blank_preprocessor(described, {3, 4, 4});
  rebuilt.pixel_mean.copy_(pre.pixel_mean);
  rebuilt.pixel_std.copy_(pre.pixel_std);
  CHECK(torch::allclose(rebuilt.apply(bytes), expected, 1e-5, 1e-6));

  // A network trained on floats (a TorchScript file, say) reads bytes through the data's scaling, once.
  Registry registry;
  registry.load_default();
  lepton::ModelRequest request;
  request.params = {{"channels", 2}, {"blocks", 1}, {"hidden", 4}};
  request.shape.input = {3, 4, 4};
  request.shape.classes = 2;
  const auto net = registry.model("cnn").build(request);
  const auto reading = reading_pixels(net, pixels, {3, 4, 4});
  CHECK(reading != net);
  CHECK(reading_pixels(reading, pixels, {3, 4, 4}) == reading);
  CHECK(reading_pixels(net, lepton::PixelScaling{}, {3, 4, 4}) == net);
  CHECK(split_preprocessing(reading).second.describe().at("pixels") == 3);
  torch::NoGradGuard no_grad;
  reading->eval();
  CHECK(torch::allclose(reading->forward(bytes), net->forward(expected), 1e-5, 1e-6));
}
