// The data and metric plugins behind the domain packs, checked against values worked out by hand:
// ARFF (German credit), walk-forward time series (S&P 500), clinical, cost-matrix and trading
// metrics, and class weights.
#include "plugins/registry.hpp"
#include "train/class_weights.hpp"
#include "support/plugins.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <cmath>
#include <fstream>

using lepton::json;
using namespace lepton::engine;

namespace {

const Registry& plugins() { return lepton::test::build_plugins(); }

lepton::DataSplits load(const std::string& dataset, const json& config) {
  lepton::DatasetRequest request;
  request.config = config;
  request.search_dirs = {LEPTON_SOURCE_DIR};
  return plugins().dataset(dataset).load(request);
}

std::map<std::string, double> score(const std::string& metric, const json& options,
                                    const std::vector<std::string>& classes, const std::vector<std::vector<double>>& p,
                                    const std::vector<std::int64_t>& labels, const std::vector<double>& outcome = {}) {
  lepton::MetricSetup setup;
  setup.options = options;
  setup.class_names = classes;
  const auto set = plugins().metric(metric)(setup);
  lepton::Predictions predictions;
  std::vector<double> flat;
  for (const auto& row : p) flat.insert(flat.end(), row.begin(), row.end());
  predictions.probabilities =
      torch::tensor(flat, torch::kFloat64).reshape({static_cast<std::int64_t>(p.size()), static_cast<std::int64_t>(classes.size())});
  predictions.labels = torch::tensor(labels, torch::kLong);
  if (!outcome.empty()) predictions.outcome = torch::tensor(outcome, torch::kFloat64);
  return set->compute(predictions);
}

}  // namespace

TEST_CASE("arff encodes German credit's 13 nominal attributes one-hot", "[arff]") {
  const auto data = load("arff", {{"path", "data/credit-g.arff"}, {"encoding", "onehot"}, {"split", {{"seed", 3}}}});
  CHECK(data.categorical.empty());  // encoded here: nothing left for the engine
  CHECK(data.info["rows"] == 1000);
  CHECK(data.class_names == std::vector<std::string>{"good", "bad"});
  // 7 numeric attributes + 4+5+11+5+5+5+3+4+3+3+4+2+2 nominal values.
  CHECK(data.input_shape == std::vector<std::int64_t>{63});
  CHECK(data.feature_names.front() == "checking_status=<0");
  CHECK(data.train.size() == 600);
  CHECK(data.valid.size() == 200);
  CHECK(data.valid.y.sum().item<std::int64_t>() == 60);  // stratified: 30% bad
  // One-hot groups sum to one per sample.
  CHECK(torch::allclose(data.train.x.slice(1, 0, 4).sum(1), torch::ones({600})));
  const auto ordinal = load("arff", {{"path", "data/credit-g.arff"}, {"encoding", "ordinal"}});
  CHECK(ordinal.input_shape == std::vector<std::int64_t>{20});
  CHECK(ordinal.categorical.empty());
}

TEST_CASE("arff leaves nominal attributes as declared category indices for the engine to encode", "[arff]") {
  const auto data = load("arff", {{"path", "data/credit-g.arff"}, {"standardize", true}, {"split", {{"seed", 3}}}});
  CHECK(data.input_shape == std::vector<std::int64_t>{20});
  REQUIRE(data.categorical.size() == 13);
  CHECK(data.categorical.front().column == 0);  // checking_status
  CHECK(data.categorical.front().values == std::vector<std::string>{"<0", "0<=X<200", ">=200", "no checking"});
  for (const auto& c : data.categorical) {
    INFO("column " << c.column);
    const auto codes = data.train.x.select(1, c.column);
    // Indices, never standardized: whole numbers in [0, categories).
    CHECK(torch::equal(codes, codes.round()));
    CHECK(codes.min().item<double>() >= 0);
    CHECK(codes.max().item<double>() < static_cast<double>(c.values.size()));
  }
  // The numeric duration (column 1) is standardized on the training split.
  CHECK(data.train.x.select(1, 1).mean().item<double>() == Approx(0).margin(1e-4));
}

TEST_CASE("arff reads quotes, comments, sparse rows and missing values", "[arff]") {
  lepton::test::TempDir dir;
  const auto file = dir.write("tiny.arff", R"(% a comment
@RELATION 'tiny set'
@attribute 'size cm' NUMERIC
@attribute colour {red, 'dark blue'}
@attribute class {no, yes}
@data
1.5, red, no
?, 'dark blue', yes
% comment between rows
2.5, ?, no
{0 3.5, 1 'dark blue', 2 yes}
4.5,red,yes
6.5,red,no
)");
  const json split = {{"valid", 0.34}, {"test", 0.0}, {"stratify", false}};
  const auto data = load("arff", {{"path", file}, {"encoding", "onehot"}, {"split", split}});
  CHECK(data.info["relation"] == "tiny set");
  CHECK(data.info["missing_values"] == 1);  // the missing colour is all-zero one-hot, not imputed
  CHECK(data.feature_names == std::vector<std::string>{"size cm", "colour=red", "colour=dark blue"});
  CHECK(torch::isfinite(data.train.x).all().item<bool>());
  CHECK(torch::isfinite(data.valid.x).all().item<bool>());
  // Left to the engine, the colour is an index; a missing one takes the training split's most frequent.
  const auto indices = load("arff", {{"path", file}, {"split", split}});
  CHECK(indices.info["missing_values"] == 2);
  REQUIRE(indices.categorical.size() == 1);
  CHECK(indices.categorical[0].column == 1);
  const auto colours = torch::cat({indices.train.x.select(1, 1), indices.valid.x.select(1, 1)});
  CHECK(torch::equal(colours, colours.round()));
  CHECK(torch::isfinite(indices.train.x).all().item<bool>());
  CHECK(torch::isfinite(indices.valid.x).all().item<bool>());
  try {
    load("arff", {{"path", dir.write("bad.arff", "@relation r\n@attribute c {a, b}\n@attribute d {x, y}\n@data\na, x\nc, y\n")}});
    FAIL("no error");
  } catch (const lepton::ConfigError& e) {
    CHECK_THAT(e.what(), Catch::Contains("bad.arff:6: \"c\" is not a declared value of attribute \"c\""));
  }
}

TEST_CASE("timeseries splits walk forward with an embargo and labels the next day's direction", "[timeseries]") {
  const json config = {{"path", "data/sp500-2000.csv"},
                       {"target", {{"column", "close"}}},
                       {"features", {{{"column", "close"}, {"transform", "log_return"}, {"lags", 3}}}},
                       {"standardize", false},
                       {"split", {{"valid", 0.2}, {"test", 0.1}}}};
  const auto data = load("timeseries", config);
  const json& dates = data.info["dates"];
  CHECK(dates["train"][1].get<std::string>() < dates["valid"][0].get<std::string>());
  CHECK(dates["valid"][1].get<std::string>() < dates["test"][0].get<std::string>());
  CHECK(data.info["embargoed"] == 2);
  CHECK(data.train.size() + data.valid.size() + data.test.size() + 2 == data.info["samples"].get<std::int64_t>());
  // Up exactly when the outcome (next log return) is positive.
  for (const auto* split : {&data.train, &data.valid, &data.test})
    CHECK(torch::equal(split->y, (split->outcome > 0).to(torch::kLong)));
  // The first sample is 2000-01-06 (3 lags of returns need 4 closes): its features are the last 3 returns.
  CHECK(dates["train"][0] == "2000-01-06");
  const double c3 = 1402.109985, c4 = 1403.449951;  // closes of 2000-01-05 and 2000-01-06
  CHECK(data.train.x[0][0].item<double>() == Approx(std::log(c4 / c3)).epsilon(1e-5));
  // A rolling training window keeps the latest samples only.
  json windowed = config;
  windowed["split"]["train_window"] = 500;
  CHECK(load("timeseries", windowed).train.size() == 500);
}

TEST_CASE("clinical metrics on four patients", "[metrics][packs]") {
  const std::vector<std::vector<double>> p{{0.9, 0.1}, {0.4, 0.6}, {0.6, 0.4}, {0.1, 0.9}};
  const auto m = score("clinical", {{"positive", "sick"}, {"target_specificity", 0.5}}, {"well", "sick"}, p, {0, 0, 1, 1});
  CHECK(m.at("sensitivity") == Approx(0.5));
  CHECK(m.at("specificity") == Approx(0.5));
  CHECK(m.at("ppv") == Approx(0.5));
  CHECK(m.at("npv") == Approx(0.5));
  CHECK(m.at("auc") == Approx(0.75));
  CHECK(m.at("sensitivity_at_specificity") == Approx(1.0));
  const auto strict = score("clinical", {{"positive", 1}, {"target_specificity", 1.0}}, {"well", "sick"}, p, {0, 0, 1, 1});
  CHECK(strict.at("sensitivity_at_specificity") == Approx(0.5));
  // With "well" as the condition, sensitivity and specificity trade places.
  const auto flipped = score("clinical", {{"positive", "well"}, {"threshold", 0.5}}, {"well", "sick"}, p, {0, 1, 0, 1});
  CHECK(flipped.at("sensitivity") == Approx(1.0));
  CHECK_THROWS_WITH(score("clinical", {{"positive", "ill"}}, {"well", "sick"}, p, {0, 0, 1, 1}),
                    Catch::Contains("no class \"ill\""));
}

TEST_CASE("cost-matrix metrics decide by least expected cost", "[metrics][packs]") {
  const json german = {{"costs", {{"bad", {{"good", 5}}}, {"good", {{"bad", 1}}}}}};
  const std::vector<std::vector<double>> p{{0.9, 0.1}, {0.7, 0.3}, {0.75, 0.25}, {0.95, 0.05}};
  const std::vector<std::int64_t> truth{0, 1, 0, 1};  // good, bad, good, bad
  const auto m = score("cost_matrix", german, {"good", "bad"}, p, truth);
  // Decisions good, bad, bad, good: a good applicant rejected (1) and a bad one accepted (5).
  CHECK(m.at("total_cost") == Approx(6.0));
  CHECK(m.at("average_cost") == Approx(1.5));
  CHECK(m.at("savings") == Approx(1.0 - 6.0 / 2.0));  // rejecting everyone would cost 2
  json argmax = german;
  argmax["decision"] = "argmax";
  CHECK(score("cost_matrix", argmax, {"good", "bad"}, p, truth).at("total_cost") == Approx(10.0));
}

TEST_CASE("trading metrics follow the positions the predictions take", "[metrics][packs]") {
  const std::vector<std::vector<double>> p{{0.2, 0.8}, {0.3, 0.7}, {0.6, 0.4}, {0.9, 0.1}};
  const std::vector<double> returns{0.01, -0.02, 0.03, -0.01};
  const auto m = score("trading", {{"long", "up"}}, {"down", "up"}, p, {1, 0, 1, 0}, returns);
  CHECK(m.at("strategy_return") == Approx(-0.01));
  CHECK(m.at("excess_return") == Approx(-0.02));
  CHECK(m.at("hit_rate") == Approx(0.5));
  CHECK(m.at("annualized_return") == Approx(-0.0025 * 252));
  CHECK(m.at("sharpe") == Approx(-0.0025 / std::sqrt(1.25e-4 - 0.0025 * 0.0025) * std::sqrt(252.0)));
  const auto hedged = score("trading", {{"long", "up"}, {"short", "down"}}, {"down", "up"}, p, {1, 0, 1, 0}, returns);
  CHECK(hedged.at("strategy_return") == Approx(0.01 - 0.02 - 0.03 + 0.01));
  CHECK_THROWS_WITH(score("trading", json::object(), {"down", "up"}, p, {1, 0, 1, 0}), Catch::Contains("Split::outcome"));
}

TEST_CASE("class weights: balanced from the training split, or explicit", "[class_weight]") {
  lepton::DataSplits data;
  data.class_names = {"benign", "malignant"};
  data.train.x = torch::zeros({4, 1});
  data.train.y = torch::tensor(std::vector<std::int64_t>{0, 0, 0, 1}, torch::kLong);
  CHECK_FALSE(class_weights("none", data).defined());
  const auto balanced = class_weights("balanced", data);
  CHECK(balanced[0].item<double>() == Approx(4.0 / 6.0));
  CHECK(balanced[1].item<double>() == Approx(2.0));
  CHECK(class_weights({{"malignant", 3}}, data)[1].item<double>() == Approx(3.0));
  CHECK(class_weights({{"malignant", 3}}, data)[0].item<double>() == Approx(1.0));
  CHECK(class_weights(json::array({1, 2}), data)[1].item<double>() == Approx(2.0));
  CHECK_THROWS_WITH(class_weights({{"malign", 3}}, data),
                    Catch::StartsWith("task.class_weight.malign: no class \"malign\" (did you mean \"malignant\"?)"));
  CHECK_THROWS_WITH(class_weights(json::array({1}), data), Catch::Contains("expected 2 weights, one per class, got 1"));
  data.train.y = torch::zeros({4}, torch::kLong);
  CHECK_THROWS_WITH(class_weights("balanced", data), Catch::Contains("class \"malignant\" has no sample there"));
}

TEST_CASE("arff predicts a new file with the training layout and fitted state", "[arff]") {
  lepton::test::TempDir dir;
  const std::string header = "@relation r\n@attribute size numeric\n@attribute colour {red, blue}\n";
  const auto train_file = dir.write("train.arff", header + "@attribute class {no, yes}\n@data\n"
                                                           "1, red, no\n3, blue, yes\n5, red, no\n7, blue, yes\n9, red, yes\n"
                                                           "2, red, no\n4, blue, yes\n6, red, no\n8, blue, yes\n10, red, yes\n");
  const json config = {{"path", train_file}, {"standardize", true}, {"split", {{"valid", 0.2}, {"test", 0.0}}}};
  const auto trained = load("arff", config);
  auto predict = [&](const std::string& file) {
    lepton::DatasetRequest request;
    request.config = config;
    request.predict = true;
    request.file = file;
    request.fitted = trained.fitted;
    return plugins().dataset("arff").load(request);
  };
  // Labelled, with a missing size (imputed with the training mean) and a missing class (-1).
  const auto labelled = predict(dir.write("new.arff", header + "@attribute class {no, yes}\n@data\n?, blue, yes\n5, red, ?\n"));
  REQUIRE(labelled.test.size() == 2);
  CHECK(labelled.train.size() == 0);
  CHECK(torch::equal(labelled.test.y, torch::tensor({1, -1}, torch::kLong)));
  CHECK(labelled.test.x[0][1].item<float>() == 1.0f);  // blue's index, not standardized
  CHECK(labelled.categorical.size() == 1);
  // The training mean, standardized, is 0: the imputed size lands there.
  CHECK(labelled.test.x[0][0].item<double>() == Approx(0).margin(1e-5));
  const auto mean = trained.fitted["standardization"];
  CHECK(labelled.test.x[1][0].item<double>() ==
        Approx((5 - mean["mean"][0].get<double>()) / mean["std"][0].get<double>()).epsilon(1e-4));
  // Without the class attribute: predictions only.
  const auto unlabelled = predict(dir.write("bare.arff", header + "@data\n3, red\n"));
  CHECK(unlabelled.test.size() == 1);
  CHECK_FALSE(unlabelled.test.y.defined());
  // Other nominal values change the indices: refused, naming the attribute.
  try {
    predict(dir.write("other.arff", "@relation r\n@attribute size numeric\n@attribute colour {blue, red}\n@data\n3, red\n"));
    FAIL("no error");
  } catch (const lepton::ConfigError& e) {
    CHECK_THAT(e.what(), Catch::Contains("--data") && Catch::Contains("other.arff") && Catch::Contains("colour"));
  }
}

TEST_CASE("arff reads separate train and test files with the same attributes", "[arff]") {
  lepton::test::TempDir dir;
  const std::string header = "@relation r\n@attribute size numeric\n@attribute colour {red, blue}\n@attribute class {no, yes}\n@data\n";
  std::string train_rows;
  for (int i = 0; i < 20; ++i) train_rows += std::to_string(i) + (i % 2 ? ", red, no\n" : ", blue, yes\n");
  const auto train = dir.write("train.arff", header + train_rows);
  const auto test = dir.write("test.arff", header + "1, red, no\n2, blue, yes\n3, red, no\n");
  const auto data = load("arff", {{"path", {{"train", train}, {"test", test}}}, {"split", {{"valid", 0.25}}}});
  CHECK(data.test.size() == 3);   // the test file, whole
  CHECK(data.valid.size() == 5);  // 25% of the training file
  CHECK(data.train.size() == 15);
  CHECK(data.test.index.min().item<std::int64_t>() == 20);  // row numbers run on across the files
  CHECK(data.info["file"]["test"] == test);

  // Another file's attributes or classes are named, with the file.
  const auto other = dir.write("other.arff", "@relation r\n@attribute size numeric\n@attribute colour {red, green}\n"
                                             "@attribute class {no, yes}\n@data\n1, red, no\n");
  try {
    load("arff", {{"path", {{"train", train}, {"valid", other}}}});
    FAIL("a file with other attributes was accepted");
  } catch (const lepton::ConfigError& e) {
    CHECK_THAT(e.what(), Catch::StartsWith("dataset.path.valid: other.arff does not declare the attributes of train.arff: "
                                           "feature 2 is"));
  }
}
