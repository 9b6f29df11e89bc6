// `lepton export --format torchscript` for every model family: Python's torch.jit.load runs the
// file without Lepton on the file's raw rows and gives `lepton predict`'s probabilities (max
// absolute difference <= 1e-5), with the fitted preprocessing (one-hot, scaling, PCA, the
// dataset's own standardization, raw pixels' scaling) inside and the class and feature names stored.
// Then the compressed exports: int8 linear layers and magnitude pruning, against the float model.
#include "plugins/registry.hpp"
#include "report/ranking.hpp"
#include "train/checkpoint.hpp"
#include "store/store.hpp"
#include "support/plugins.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"
#include "support/torchscript.hpp"

#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

using lepton::json;
using lepton::TrialState;
using lepton::test::run_lepton;
using lepton::test::TempDir;
using namespace lepton::engine;

namespace {

const std::string kData = LEPTON_DATA_DIR;

// The samples of `file` as the model's dataset plugin reads them before its own fitted
// standardization: what the exported file takes.
at::Tensor raw_rows(const ModelCard& card, const std::string& file) {
  lepton::DatasetRequest request;
  request.config = card.dataset_config;
  request.predict = true;
  request.file = file;
  request.fitted = card.dataset_fitted;
  request.fitted.erase("standardization");
  request.search_dirs = {LEPTON_SOURCE_DIR};
  return lepton::test::build_plugins().dataset(card.dataset_plugin).load(request).test.x;
}

void write_rows(const at::Tensor& rows, const std::string& file) {
  const auto flat = rows.reshape({rows.size(0), -1}).to(torch::kFloat32).contiguous();
  std::ofstream out(file);
  char cell[32];
  for (std::int64_t i = 0; i < flat.size(0); ++i)
    for (std::int64_t j = 0; j < flat.size(1); ++j) {
      std::snprintf(cell, sizeof cell, "%.9g", static_cast<double>(flat[i][j].item<float>()));
      out << cell << (j + 1 == flat.size(1) ? "\n" : ",");
    }
}

// Trains one trial of `experiment`, exports it, and compares Python's probabilities with predict's.
void check_round_trip(json experiment, const std::string& data_file, const std::string& network) {
  TempDir dir;
  const std::string url = dir.sqlite_url();
  experiment["search"] = {{"searcher", "random"}, {"trials", 1}, {"seed", 4}, {"space", json::object()}};
  experiment["task"]["objective"] = {{"metric", "val_accuracy"}};
  const auto run = run_lepton({"run", dir.write_json("e.json", experiment), "--storage", url, "--quiet"});
  INFO(run.err);
  REQUIRE(run.exit_code == 0);
  const std::string model = dir.file("model.pt");
  const auto exported = run_lepton({"export", "--storage", url, "--study", experiment["name"], "--format", "torchscript",
                                    "-o", model});
  INFO(exported.out << exported.err);
  REQUIRE(exported.exit_code == 0);
  CHECK_THAT(exported.out, Catch::Contains(network + " network"));
  CHECK(run_lepton({"export", "--storage", url, "--study", experiment["name"], "--format", "torchscript", "-o", model})
            .exit_code == 2);  // it exists: --force replaces it

  auto store = open_store(url, OpenMode::kExisting);
  const auto trial = store->trials(store->find_study(experiment["name"])->id).at(0);
  REQUIRE(trial.state == TrialState::kComplete);
  const std::string folder = trial.artifacts.at("model");
  const ModelCard card = read_model_card(folder, "model");
  const json predicted = json::parse(run_lepton({"predict", "--model", folder, "--data", data_file, "--json"}).out);

  write_rows(raw_rows(card, data_file), dir.file("rows.csv"));
  const auto python = lepton::test::run_python("run_exported.py", {model, dir.file("rows.csv")});
  INFO(python.err);
  REQUIRE(python.exit_code == 0);
  const json out = json::parse(python.out);
  CHECK(out["class_names"] == card.class_names);
  CHECK(out["feature_names"] == card.feature_names);
  CHECK(out["input_shape"] == card.input_shape);
  CHECK(out["lepton"]["model"]["plugin"] == card.model_plugin);
  CHECK(out["lepton"]["provenance"]["study"] == experiment["name"]);
  CHECK_FALSE(out["parameters"].empty());  // named, so Python can fine-tune it further

  const auto& rows = predicted["predictions"];
  REQUIRE(out["probabilities"].size() == rows.size());
  double worst = 0;
  for (std::size_t i = 0; i < rows.size(); ++i)
    for (std::size_t c = 0; c < card.class_names.size(); ++c)
      worst = std::max(worst, std::abs(out["probabilities"][i][c].get<double>() - rows[i]["probabilities"][c].get<double>()));
  std::printf("round trip %s (%zu rows): max |difference| %.3g\n", card.model_plugin.c_str(), rows.size(), worst);
  CHECK(worst <= 1e-5);
}

json credit(json preprocess) {
  return {{"dataset", {{"plugin", "arff"}, {"path", kData + "/credit-g.arff"}, {"standardize", true},
                       {"split", {{"valid", 0.2}, {"test", 0.2}, {"seed", 1}}}}},
          {"preprocess", std::move(preprocess)}};
}

json digits(json preprocess) {
  return {{"dataset", {{"plugin", "csv"}, {"path", kData + "/digits.csv.gz"}, {"shape", {1, 8, 8}}, {"standardize", true},
                       {"split", {{"valid", 0.2}, {"test", 0.2}, {"seed", 1}}}}},
          {"preprocess", std::move(preprocess)}};
}

// One trial of a 64-256-256-10 MLP on digits (about 97% accurate): study "digits" in `url`, to compress.
void train_digits_mlp(const TempDir& dir, const std::string& url) {
  const json e = {{"name", "digits"},
                  {"dataset", {{"plugin", "csv"}, {"path", kData + "/digits.csv.gz"}, {"scale", 0.0625},
                               {"split", {{"valid", 0.2}, {"test", 0.2}, {"seed", 0}}}}},
                  {"model", {{"plugin", "mlp"}, {"layers", 2}, {"hidden", 256}}},
                  {"task", {{"type", "train"}, {"epochs", 15}, {"lr", 0.003}, {"objective", {{"metric", "val_accuracy"}}}}},
                  {"search", {{"searcher", "random"}, {"trials", 1}, {"seed", 0}, {"space", json::object()}}}};
  lepton::test::run_lepton_ok({"run", dir.write_json("e.json", e), "--storage", url, "--quiet"});
}

}  // namespace

TEST_CASE("export to TorchScript: mlp with one-hot categoricals and standardize", "[torchscript][export][slow]") {
  json e = credit({{"scaler", "standardize"}});
  e.update({{"name", "mlp"}, {"model", {{"plugin", "mlp"}, {"hidden", 16}}}, {"task", {{"type", "train"}, {"epochs", 3}}}});
  check_round_trip(e, kData + "/credit-g.arff", "traced");
}

TEST_CASE("export to TorchScript: linear after the dataset's standardization and PCA", "[torchscript][export][slow]") {
  json e = {{"name", "linear"},
            {"dataset", {{"plugin", "csv"}, {"path", kData + "/breast_cancer.csv"}, {"standardize", true},
                         {"split", {{"valid", 0.2}, {"test", 0.2}, {"seed", 1}}}}},
            {"preprocess", {{"pca", true}, {"pca_components", 6}}},
            {"model", {{"plugin", "linear"}}},
            {"task", {{"type", "train"}, {"epochs", 3}, {"optimizer", "lbfgs"}}}};
  check_round_trip(e, kData + "/breast_cancer.csv", "traced");
}

TEST_CASE("export to TorchScript: kernel with one-hot, min-max scaling and PCA", "[torchscript][export][slow]") {
  json e = credit({{"scaler", "minmax"}, {"pca", true}, {"pca_components", 8}});
  e.update({{"name", "kernel"}, {"model", {{"plugin", "kernel"}, {"features", 64}}},
            {"task", {{"type", "train"}, {"epochs", 3}, {"lr", 0.01}}}});
  check_round_trip(e, kData + "/credit-g.arff", "traced");
}

TEST_CASE("export to TorchScript: cnn on images with the dataset's and the engine's standardization",
          "[torchscript][export][slow]") {
  json e = digits({{"scaler", "standardize"}});
  e.update({{"name", "cnn"}, {"model", {{"plugin", "cnn"}, {"channels", 4}, {"blocks", 2}, {"hidden", 16}}},
            {"task", {{"type", "train"}, {"epochs", 2}, {"lr", 0.01}}}});
  check_round_trip(e, kData + "/digits.csv.gz", "traced");
}

TEST_CASE("export to TorchScript: cnn on a folder of images takes raw pixels, 0..255", "[torchscript][export][images][slow]") {
  const std::string folder = std::string(LEPTON_SOURCE_DIR) + "/tests/fixtures/image_modes";
  const json e = {{"name", "images"},
                  {"dataset", {{"plugin", "images"}, {"path", folder}, {"size", {12, 12}}, {"split", {{"valid", 0.25}, {"seed", 1}}}}},
                  {"model", {{"plugin", "cnn"}, {"channels", 4}, {"blocks", 2}, {"hidden", 16}}},
                  {"task", {{"type", "train"}, {"epochs", 2}, {"lr", 0.01}}}};
  check_round_trip(e, folder, "traced");
}

TEST_CASE("export to TorchScript: a TorchScript model keeps its own code", "[torchscript][export][slow]") {
  json e = digits({{"scaler", "minmax"}});
  e.update({{"name", "torchscript"}, {"model", {{"plugin", "torchscript"}, {"path", lepton::test::torchscript_module("cnn10.pt")}}},
            {"task", {{"type", "train"}, {"epochs", 2}, {"lr", 0.01}}}});
  check_round_trip(e, kData + "/digits.csv.gz", "scripted");
}

TEST_CASE("export --quantize int8: int8 linear layers, 3x smaller, accuracy kept, loaded by Python and served",
          "[torchscript][export][quantize][slow]") {
  TempDir dir;
  const std::string url = dir.sqlite_url();
  const std::string data_file = kData + "/digits.csv.gz";
  train_digits_mlp(dir, url);

  // A folder cannot hold int8 layers: the flag asks for a TorchScript file.
  const auto folder = run_lepton({"export", "--storage", url, "--study", "digits", "--quantize", "int8", "-o", dir.file("m")});
  CHECK(folder.exit_code == 2);
  CHECK_THAT(folder.err, Catch::Contains("--quantize: int8 layers exist only in TorchScript files; add --format torchscript"));

  const std::string int8 = dir.file("int8.pt"), float32 = dir.file("float.pt");
  lepton::test::run_lepton_ok({"export", "--storage", url, "--study", "digits", "--format", "torchscript", "-o", float32});
  const auto exported = lepton::test::run_lepton_ok(
      {"export", "--storage", url, "--study", "digits", "--format", "torchscript", "--quantize", "int8", "-o", int8});
  INFO(exported.out);
  CHECK_THAT(exported.out, Catch::Contains("3 linear layer(s) quantized dynamically"));
  CHECK_FALSE(std::filesystem::exists(int8 + ".float32.tmp"));
  const double ratio = static_cast<double>(std::filesystem::file_size(float32)) / static_cast<double>(std::filesystem::file_size(int8));
  std::printf("int8 export: %.2fx smaller\n", ratio);
  CHECK(ratio >= 3);
  // The printed table: float32 and int8 rows with validation and test accuracy.
  std::map<std::string, std::vector<double>> accuracy;
  std::istringstream lines(exported.out);
  for (std::string line; std::getline(lines, line);) {
    std::istringstream cells(line);
    std::string weights, size, unit;
    double val = 0, test = 0;
    if (cells >> weights >> size >> unit >> val >> test && (weights == "float32" || weights == "int8")) accuracy[weights] = {val, test};
  }
  REQUIRE(accuracy.size() == 2);
  CHECK(accuracy["float32"][1] > 0.9);
  CHECK(std::abs(accuracy["int8"][1] - accuracy["float32"][1]) <= 0.005);  // within half a point on the test split
  CHECK(std::abs(accuracy["int8"][0] - accuracy["float32"][0]) <= 0.005);

  // Python opens the int8 file alone; its classes agree with the float file's on the file's rows.
  auto store = open_store(url, OpenMode::kExisting);
  const auto trial = store->trials(store->find_study("digits")->id).at(0);
  write_rows(raw_rows(read_model_card(trial.artifacts.at("model"), "model"), data_file), dir.file("rows.csv"));
  auto probabilities = [&](const std::string& model) {
    const auto r = lepton::test::run_python("run_exported.py", {model, dir.file("rows.csv")});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    return json::parse(r.out)["probabilities"];
  };
  const json q = probabilities(int8), f = probabilities(float32);
  REQUIRE(q.size() == 1797);
  REQUIRE(f.size() == 1797);
  int same = 0;
  for (std::size_t i = 0; i < q.size(); ++i) {
    auto argmax = [](const json& row) {
      return std::max_element(row.begin(), row.end(), [](const json& a, const json& b) { return a.get<double>() < b.get<double>(); }) - row.begin();
    };
    same += argmax(q[i]) == argmax(f[i]) ? 1 : 0;
  }
  std::printf("int8 and float32 agree on %d of 1797 rows\n", same);
  CHECK(same >= 1780);

  // lepton predict reads a data file for the int8 file as for the folder (the plugin's fitted state
  // travels in the file).
  auto accuracy_of = [&](const std::string& model) {
    const auto r = lepton::test::run_lepton_ok({"predict", "--model", model, "--data", data_file, "--json", "--limit", "0"});
    return json::parse(r.out)["metrics"]["accuracy"].get<double>();
  };
  const double folder_accuracy = accuracy_of(trial.artifacts.at("model")), int8_accuracy = accuracy_of(int8);
  CHECK(std::abs(int8_accuracy - folder_accuracy) <= 0.005);
  CHECK(accuracy_of(float32) == Approx(folder_accuracy).margin(1e-9));
}

TEST_CASE("export --prune zeroes each layer's smallest weights, fine-tunes with them held at zero, and reports both",
          "[export][prune][slow]") {
  TempDir dir;
  const std::string url = dir.sqlite_url();
  const std::string data_file = kData + "/digits.csv.gz";
  train_digits_mlp(dir, url);
  const auto orphan = run_lepton({"export", "--storage", url, "--study", "digits", "--prune-epochs", "2", "-o", dir.file("x")});
  CHECK(orphan.exit_code == 2);
  CHECK_THAT(orphan.err, Catch::Contains("--prune-epochs: fine-tunes after --prune FRACTION"));

  // The table's rows: name -> {val, test}.
  auto rows = [](const std::string& out) {
    std::map<std::string, std::vector<double>> found;
    std::istringstream lines(out);
    for (std::string line; std::getline(lines, line);) {
      std::istringstream cells(line);
      std::string name;
      double nonzero = 0, val = 0, test = 0;
      if (cells >> name >> nonzero >> val >> test) found[name] = {nonzero, val, test};
    }
    return found;
  };
  // Zeroed weights per layer of a saved model folder, against each layer's size.
  auto zeros = [](const std::string& folder) {
    Registry registry;
    registry.load_default();
    const auto net = load_model(folder, read_model_card(folder, "m"), registry, "m");
    std::vector<std::pair<std::int64_t, std::int64_t>> out;
    for (const auto& p : net->parameters())
      if (p.dim() >= 2) out.emplace_back(p.eq(0).sum().item<std::int64_t>(), p.numel());
    return out;
  };

  const auto half = lepton::test::run_lepton_ok({"export", "--storage", url, "--study", "digits", "--prune", "0.5", "-o", dir.file("half")});
  INFO(half.out);
  CHECK_THAT(half.out, Catch::Contains("pruned 42240 of 84480 weights (50% of each of 3 layers"));
  for (const auto& [zero, size] : zeros(dir.file("half"))) CHECK(zero == size / 2);
  CHECK(json::parse(lepton::test::read_file(dir.file("half") + "/model.json"))["provenance"]["pruned"]["fraction"] == 0.5);
  const auto r = rows(half.out);
  REQUIRE(r.count("before"));
  REQUIRE(r.count("pruned"));
  CHECK(r.at("pruned")[0] < r.at("before")[0] - 42000);  // nonzero parameters
  // The pruned folder predicts like any other (here the whole digits file).
  const json p = json::parse(lepton::test::run_lepton_ok({"predict", "--model", dir.file("half"), "--data", data_file, "--json", "--limit", "0"}).out);
  CHECK(p["metrics"]["accuracy"].get<double>() > 0.9);

  // 90% pruned, then fine-tuned: the zeros stay zeros, and the fine-tuning wins back accuracy.
  const auto tuned = lepton::test::run_lepton_ok(
      {"export", "--storage", url, "--study", "digits", "--prune", "0.9", "--prune-epochs", "3", "-o", dir.file("tuned")});
  INFO(tuned.out);
  for (const auto& [zero, size] : zeros(dir.file("tuned"))) CHECK(zero >= size * 9 / 10);
  const auto t = rows(tuned.out);
  REQUIRE(t.count("fine-tuned"));
  std::printf("pruned 90%%: test accuracy %.4f before, %.4f pruned, %.4f fine-tuned\n", t.at("before")[2], t.at("pruned")[2],
              t.at("fine-tuned")[2]);
  CHECK(t.at("fine-tuned")[2] > t.at("pruned")[2]);

  // With int8 on top, into one TorchScript file.
  const auto both = lepton::test::run_lepton_ok({"export", "--storage", url, "--study", "digits", "--prune", "0.5", "--format",
                                                 "torchscript", "--quantize", "int8", "-o", dir.file("both.pt")});
  CHECK_THAT(both.out, Catch::Contains("3 linear layer(s) quantized"));
  CHECK(std::filesystem::exists(dir.file("both.pt")));
  CHECK_FALSE(std::filesystem::exists(dir.file("both.pt.pruned.tmp")));
}
