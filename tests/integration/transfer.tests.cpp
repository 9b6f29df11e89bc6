// The transfer pipeline end to end through the real binary on real data: a teacher study, export,
// predict, distillation from the teacher's best trial, fine-tuning on a new label set with few
// samples, pruning, cross-validation, IDX images, and folders of images kept as bytes.
#include "plugins/registry.hpp"
#include "report/ranking.hpp"
#include "store/store.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>
#include <set>

using lepton::json;
using lepton::TrialState;
using lepton::test::run_lepton;
using lepton::test::run_lepton_ok;
using lepton::test::TempDir;
using namespace lepton::engine;

namespace {

const std::string kDigits = std::string(LEPTON_DATA_DIR) + "/digits.csv.gz";

json digits_dataset(json subset = nullptr) {
  json d = {{"plugin", "csv"}, {"path", kDigits}, {"shape", {1, 8, 8}}, {"scale", 0.0625},
            {"split", {{"valid", 0.2}, {"test", 0.2}, {"seed", 0}}}};
  if (!subset.is_null()) d["subset"] = subset;
  return d;
}

json experiment(const std::string& name, json dataset, json model, json task, json space, int trials) {
  return {{"name", name},
          {"dataset", std::move(dataset)},
          {"model", std::move(model)},
          {"task", std::move(task)},
          {"search", {{"searcher", "random"}, {"trials", trials}, {"parallel", 2}, {"seed", 1}, {"space", std::move(space)}}}};
}

std::vector<TrialRecord> trials_of(const std::string& url, const std::string& study) {
  auto store = open_store(url, OpenMode::kExisting);
  const auto s = store->find_study(study);
  REQUIRE(s);
  return store->trials(s->id);
}

}  // namespace

TEST_CASE("a teacher study, export, predict, then a student distilled from the teacher's best trial",
          "[e2e][transfer][slow]") {
  TempDir dir;
  const std::string url = dir.sqlite_url("pipeline.db");
  const json teacher = experiment("teacher", digits_dataset(), {{"plugin", "cnn"}, {"channels", 8}},
                                  {{"type", "train"}, {"epochs", 4}, {"lr", 0.01}, {"objective", {{"metric", "val_accuracy"}}}},
                                  {{"blocks", {{"type", "int"}, {"low", 1}, {"high", 2}}}}, 2);
  run_lepton_ok({"run", dir.write_json("teacher.json", teacher), "--storage", url, "--quiet"});
  const auto teachers = trials_of(url, "teacher");
  REQUIRE(teachers.size() == 2);
  for (const auto& t : teachers) {
    INFO(t.error);
    REQUIRE(t.state == TrialState::kComplete);
    REQUIRE(t.artifacts.count("model") == 1);
    CHECK(std::filesystem::is_regular_file(t.artifacts.at("model") + "/weights.pt"));
    CHECK(t.artifacts.at("model").find("pipeline.artifacts/teacher/trial-") != std::string::npos);
    CHECK(t.metrics.at("parameter_count") > 0);
    CHECK(t.metrics.at("latency_ms") > 0);
  }
  const auto best = *best_trial(teachers, {{"val_accuracy", lepton::Direction::kMaximize}});
  CHECK(best.values.at(0) > 0.85);

  // Export the best trial, then predict the whole digits file with it: its labels give metrics.
  const std::string model = dir.file("exported");
  const auto exported = run_lepton_ok({"export", "--storage", url, "--study", "teacher", "-o", model});
  CHECK_THAT(exported.out, Catch::Contains("Exported trial " + std::to_string(best.number)));
  CHECK(json::parse(lepton::test::read_file(model + "/model.json"))["provenance"]["study"] == "teacher");
  CHECK(run_lepton({"export", "--storage", url, "--study", "teacher", "-o", model}).exit_code == 2);  // no --force
  const auto predicted = run_lepton_ok({"predict", "--model", model, "--data", kDigits, "--json", "--limit", "3"});
  const json p = json::parse(predicted.out);
  CHECK(p["samples"] == 1797);
  CHECK(p["scored"] == 1797);
  CHECK(p["predictions"].size() == 3);
  CHECK(p["metrics"]["accuracy"].get<double>() > 0.85);
  const auto table = run_lepton_ok({"predict", "--model", model, "--data", kDigits, "--limit", "2"});
  CHECK_THAT(table.out, Catch::Contains("confidence") && Catch::Contains("1795 more") && Catch::Contains("accuracy"));
  // Without the label column the file still predicts, without metrics; a file of another shape is refused.
  const auto no_labels = run_lepton_ok({"predict", "--model", model, "--data",
                                 dir.write("unlabelled.csv", "0,0,5,13,9,1,0,0,0,0,13,15,10,15,5,0,0,3,15,2,0,11,8,0,0,4,12,0,0,8,8,0,"
                                                            "0,5,8,0,0,9,8,0,0,4,11,0,1,12,7,0,0,2,14,5,10,12,0,0,0,0,6,13,10,0,0,0\n")});
  CHECK_THAT(no_labels.out, Catch::Contains("no labels, so no metrics"));
  const auto wrong = run_lepton({"predict", "--model", model, "--data", std::string(LEPTON_DATA_DIR) + "/iris.csv"});
  CHECK(wrong.exit_code == 2);
  CHECK_THAT(wrong.err, Catch::Contains("--data: iris.csv has 5 columns; the model was trained on 65"));
  const auto nothing = run_lepton({"predict", "--model", dir.file("absent"), "--data", kDigits});
  CHECK(nothing.exit_code == 2);
  CHECK_THAT(nothing.err, Catch::Contains("--model: no saved model at"));
  for (const char* sub : {"export", "predict"}) CHECK_THAT(run_lepton({sub, "--help"}).out, Catch::Contains("Example"));

  // A 64-16-10 student learns from the best teacher, with a feature hint on one of its trials.
  const json student = experiment(
      "student", digits_dataset(), {{"plugin", "mlp"}, {"layers", 1}, {"hidden", 16}},
      {{"type", "distill"},
       {"teacher", {{"study", "teacher"}, {"trial", "best"}}},
       {"epochs", 5},
       {"lr", 0.01},
       {"objective", {{{"metric", "val_accuracy"}}, {{"metric", "parameter_count"}}}}},
      {{"temperature", {{"type", "float"}, {"low", 2.0}, {"high", 8.0}}},
       {"feature_weight", {{"type", "categorical"}, {"choices", {0.0, 0.5}}}}},
      3);
  run_lepton_ok({"run", dir.write_json("student.json", student), "--storage", url, "--quiet"});
  const auto students = trials_of(url, "student");
  REQUIRE(students.size() == 3);
  std::set<double> hints;
  for (const auto& t : students) {
    INFO(t.error);
    REQUIRE(t.state == TrialState::kComplete);
    CHECK(t.attrs["teacher"]["trial"] == best.number);
    CHECK(t.values.at(1) == 64 * 16 + 16 + 16 * 10 + 10);  // the second objective: parameter_count
    CHECK(t.values.at(0) > 0.5);
    hints.insert(t.params["feature_weight"].get<double>());
  }
  CHECK(hints.size() == 2);

  // A teacher that does not exist, or one trained for other data, is refused before anything runs.
  json missing = student;
  missing["name"] = "orphan";
  missing["task"]["teacher"]["study"] = "teachr";
  const auto r = run_lepton({"run", dir.write_json("missing.json", missing), "--storage", url});
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains("task.teacher.study: no study \"teachr\"") && Catch::Contains("did you mean \"teacher\"?"));
  json other = student;
  other["name"] = "other";
  other["dataset"]["subset"] = {{"classes", {"0", "1"}}};
  const auto o = run_lepton({"run", dir.write_json("other.json", other), "--storage", url});
  CHECK(o.exit_code == 2);
  CHECK_THAT(o.err, Catch::Contains("task.teacher: the teacher (trial " + std::to_string(best.number) + " of study teacher) predicts the classes"));
}

TEST_CASE("fine-tuning a digits 0-4 network on 5-9 with ten samples per class", "[e2e][transfer][slow]") {
  TempDir dir;
  const std::string url = dir.sqlite_url();
  const json source = experiment("source", digits_dataset({{"classes", {"0", "1", "2", "3", "4"}}}),
                                 {{"plugin", "mlp"}, {"layers", 2}, {"hidden", 32}},
                                 {{"type", "train"}, {"epochs", 8}, {"lr", 0.005}, {"objective", {{"metric", "val_accuracy"}}}},
                                 json::object(), 1);
  run_lepton_ok({"run", dir.write_json("source.json", source), "--storage", url, "--quiet"});
  const auto sources = trials_of(url, "source");
  REQUIRE(sources.at(0).state == TrialState::kComplete);
  CHECK(sources[0].values.at(0) > 0.9);

  json target = experiment("target", digits_dataset({{"classes", {"5", "6", "7", "8", "9"}}, {"train_per_class", 10}}),
                           nullptr,
                           {{"type", "finetune"},
                            {"source", {{"study", "source"}}},
                            {"epochs", 10},
                            {"batch_size", 10},
                            {"lr", 0.01},
                            {"warmup_epochs", 1.0},
                            {"objective", {{"metric", "val_accuracy"}}}},
                           {{"freeze_layers", {{"type", "int"}, {"low", 0}, {"high", 2}}},
                            {"head_epochs", {{"type", "int"}, {"low", 0}, {"high", 3}}},
                            {"backbone_lr_scale", {{"type", "float"}, {"low", 0.1}, {"high", 1.0}}}},
                           3);
  target.erase("model");  // the source's model
  run_lepton_ok({"run", dir.write_json("target.json", target), "--storage", url, "--quiet"});
  const auto targets = trials_of(url, "target");
  REQUIRE(targets.size() == 3);
  for (const auto& t : targets) {
    INFO(t.error);
    REQUIRE(t.state == TrialState::kComplete);
    CHECK(t.attrs["new_head"] == true);
    CHECK(t.attrs["source"]["study"] == "source");
    CHECK(t.values.at(0) > 0.5);
  }
  // The fine-tuned model predicts the 5-9 rows of the full file; the other digits are not its classes.
  const std::string model = dir.file("target-model");
  run_lepton_ok({"export", "--storage", url, "--study", "target", "--trial", std::to_string(targets[0].number), "-o", model});
  const json p = json::parse(run_lepton_ok({"predict", "--model", model, "--data", kDigits, "--json", "--limit", "0"}).out);
  CHECK(p["scored"].get<int>() == 1797 - 901);  // the file holds 901 digits 0-4
  CHECK(p["metrics"]["accuracy"].get<double>() > 0.5);

  // A source named by file: an exported model's weights.pt (its folder and model.json work alike).
  const std::string source_model = dir.file("source-model");
  run_lepton_ok({"export", "--storage", url, "--study", "source", "-o", source_model});
  json from_file = target;
  from_file["name"] = "from-file";
  from_file["task"]["source"] = source_model + "/weights.pt";
  from_file["search"]["trials"] = 1;
  run_lepton_ok({"run", dir.write_json("from_file.json", from_file), "--storage", url, "--quiet"});
  const auto from_file_trials = trials_of(url, "from-file");
  REQUIRE(from_file_trials.size() == 1);
  CHECK(from_file_trials[0].state == TrialState::kComplete);
  CHECK(from_file_trials[0].values.at(0) > 0.5);

  // More frozen layers than the source has is refused before anything runs.
  json bad = target;
  bad["name"] = "bad";
  bad["search"]["space"]["freeze_layers"]["high"] = 5;
  const auto r = run_lepton({"run", dir.write_json("bad.json", bad), "--storage", url});
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains("search.space.freeze_layers.high: \"freeze_layers\" 5 is out of range: the source's model has 2 backbone layers"));
}

TEST_CASE("a folder of images stays bytes: a CNN on raw pixels trains, teaches and is fine-tuned, and predicts the folder",
          "[e2e][transfer][images][slow]") {
  TempDir dir;
  const std::string url = dir.sqlite_url();
  const std::string folder = std::string(LEPTON_SOURCE_DIR) + "/tests/fixtures/image_modes";  // red and blue images
  const json images = {{"plugin", "images"}, {"path", folder}, {"size", {16, 16}},
                       {"split", {{"valid", 0.25}, {"seed", 0}}}};
  // Flips and mixup resample the bytes as floats; the network scales them.
  const json teacher = experiment("teacher", images, {{"plugin", "cnn"}, {"channels", 4}, {"blocks", 1}, {"hidden", 8}},
                                  {{"type", "train"}, {"epochs", 8}, {"lr", 0.01}, {"augment_flip", true}, {"mixup", 0.2},
                                   {"objective", {{"metric", "val_accuracy"}}}},
                                  json::object(), 1);
  run_lepton_ok({"run", dir.write_json("teacher.json", teacher), "--storage", url, "--quiet"});
  const auto teachers = trials_of(url, "teacher");
  INFO(teachers.at(0).error);
  REQUIRE(teachers.at(0).state == TrialState::kComplete);
  CHECK(teachers[0].attrs["preprocess"]["pixels"] == 3);  // the network reads three channels of bytes

  auto predict_folder = [&](const std::string& model) {
    const json p = json::parse(run_lepton_ok({"predict", "--model", model, "--data", folder, "--json", "--limit", "0"}).out);
    CHECK(p["samples"] == 20);
    return p["metrics"]["accuracy"].get<double>();
  };
  const std::string teacher_model = dir.file("teacher-model");
  run_lepton_ok({"export", "--storage", url, "--study", "teacher", "-o", teacher_model});
  CHECK(predict_folder(teacher_model) >= 0.75);  // red against blue, in every file format and mode

  // The teacher's pixel scaling comes along into a fine-tuned copy and teaches a student.
  json finetune = experiment("finetune", images, nullptr,
                             {{"type", "finetune"}, {"source", teacher_model}, {"epochs", 3}, {"lr", 0.005},
                              {"objective", {{"metric", "val_accuracy"}}}},
                             json::object(), 1);
  finetune.erase("model");
  run_lepton_ok({"run", dir.write_json("finetune.json", finetune), "--storage", url, "--quiet"});
  const auto tuned = trials_of(url, "finetune");
  INFO(tuned.at(0).error);
  REQUIRE(tuned.at(0).state == TrialState::kComplete);
  CHECK(tuned[0].attrs["preprocess"]["pixels"] == 3);
  const std::string tuned_model = dir.file("tuned-model");
  run_lepton_ok({"export", "--storage", url, "--study", "finetune", "-o", tuned_model});
  CHECK(predict_folder(tuned_model) >= 0.75);

  const json student = experiment("student", images, {{"plugin", "cnn"}, {"channels", 2}, {"blocks", 1}, {"hidden", 4}},
                                  {{"type", "distill"}, {"teacher", teacher_model}, {"epochs", 3}, {"lr", 0.01},
                                   {"augment_flip", true}, {"objective", {{"metric", "val_accuracy"}}}},
                                  json::object(), 1);
  run_lepton_ok({"run", dir.write_json("student.json", student), "--storage", url, "--quiet"});
  const auto students = trials_of(url, "student");
  INFO(students.at(0).error);
  CHECK(students.at(0).state == TrialState::kComplete);
}

TEST_CASE("ASHA prunes at its rungs and stores the epoch each trial reached", "[e2e][pruners][slow]") {
  TempDir dir;
  json e = lepton::test::small_experiment("asha", 10, 8);
  e["pruner"] = {{"type", "asha"}, {"min_epochs", 1}, {"reduction_factor", 2}};
  e["search"]["parallel"] = 1;
  run_lepton_ok({"run", dir.write_json("asha.json", e), "--storage", dir.sqlite_url(), "--quiet"});
  int pruned = 0;
  for (const auto& t : trials_of(dir.sqlite_url(), "asha")) {
    INFO("trial " << t.number << " " << t.error);
    if (t.state == TrialState::kPruned) {
      ++pruned;
      const int epoch = t.attrs["pruned_at_epoch"].get<int>();
      CHECK((epoch == 1 || epoch == 2 || epoch == 4));
      CHECK(t.intermediate.size() == static_cast<std::size_t>(epoch));
      CHECK(t.artifacts.empty());
    } else {
      REQUIRE(t.state == TrialState::kComplete);
      CHECK(t.intermediate.size() == 8);
    }
  }
  CHECK(pruned >= 3);
  const auto trials = run_lepton_ok({"trials", "--storage", dir.sqlite_url(), "--study", "asha", "--state", "PRUNED"});
  CHECK_THAT(trials.out, Catch::Contains("PRUNED"));
}

TEST_CASE("k-fold cross-validation: the objective is the mean over folds, each fold stored", "[e2e][folds][slow]") {
  TempDir dir;
  json e = experiment("iris", {{"plugin", "csv"}, {"path", std::string(LEPTON_DATA_DIR) + "/iris.csv"}, {"standardize", true}},
                      {{"plugin", "mlp"}, {"layers", 1}, {"hidden", 16}},
                      {{"type", "train"}, {"epochs", 6}, {"lr", 0.02}, {"batch_size", 16},
                       {"cross_validation", {{"folds", 3}, {"seed", 1}}}, {"objective", {{"metric", "val_accuracy"}}}},
                      {{"weight_decay", {{"type", "float"}, {"low", 1e-5}, {"high", 1e-3}, {"log", true}}}}, 2);
  e["pruner"] = {{"type", "median"}, {"min_trials", 1}};
  run_lepton_ok({"run", dir.write_json("iris.json", e), "--storage", dir.sqlite_url(), "--quiet"});
  for (const auto& t : trials_of(dir.sqlite_url(), "iris")) {
    INFO(t.error);
    if (t.state == TrialState::kPruned) continue;
    REQUIRE(t.state == TrialState::kComplete);
    REQUIRE(t.attrs["folds"].size() == 3);
    double mean = 0;
    for (const auto& fold : t.attrs["folds"]) mean += fold["val_accuracy"].get<double>() / 3;
    CHECK(t.values.at(0) == Approx(mean));
    CHECK(t.metrics.count("test_accuracy") == 1);  // the refit on train + valid, scored on test
    CHECK(t.artifacts.count("model") == 1);
    CHECK(t.intermediate.size() == 6);
  }
}

TEST_CASE("IDX images: MNIST-format files train a CNN, and predict reads the labels beside the images",
          "[e2e][idx][slow]") {
  TempDir dir;
  // Real digits written in the IDX format (big-endian header, unsigned bytes), as MNIST ships them.
  Registry registry;
  registry.load_default();
  lepton::DatasetRequest request;
  request.config = {{"path", kDigits}, {"split", {{"valid", 0.3}, {"test", 0.0}, {"seed", 2}}}};
  const auto digits = registry.dataset("csv").load(request);
  auto write = [&](const std::string& name, const lepton::Split& split, bool images) {
    std::ofstream out(dir.file(name), std::ios::binary);
    auto be32 = [&](std::uint32_t v) {
      const char b[4] = {char(v >> 24), char(v >> 16), char(v >> 8), char(v)};
      out.write(b, 4);
    };
    out.write(std::string{0, 0, 8, char(images ? 3 : 1)}.data(), 4);
    be32(static_cast<std::uint32_t>(split.size()));
    if (images) {
      be32(8);
      be32(8);
      const auto bytes = (split.x * 15).to(torch::kUInt8).contiguous();
      out.write(reinterpret_cast<const char*>(bytes.data_ptr<std::uint8_t>()), bytes.numel());
    } else {
      const auto bytes = split.y.to(torch::kUInt8).contiguous();
      out.write(reinterpret_cast<const char*>(bytes.data_ptr<std::uint8_t>()), bytes.numel());
    }
  };
  write("train-images-idx3-ubyte", digits.train, true);
  write("train-labels-idx1-ubyte", digits.train, false);
  write("t10k-images-idx3-ubyte", digits.valid, true);
  write("t10k-labels-idx1-ubyte", digits.valid, false);

  const json e = experiment("idx", {{"plugin", "idx"}, {"path", dir.path()}, {"split", {{"valid", 0.2}}}},
                            {{"plugin", "cnn"}, {"channels", 8}, {"blocks", 2}},
                            {{"type", "train"}, {"epochs", 4}, {"lr", 0.01}, {"objective", {{"metric", "val_accuracy"}}}},
                            json::object(), 1);
  run_lepton_ok({"run", dir.write_json("idx.json", e), "--storage", dir.sqlite_url(), "--quiet"});
  const auto t = trials_of(dir.sqlite_url(), "idx").at(0);
  INFO(t.error);
  REQUIRE(t.state == TrialState::kComplete);
  CHECK(t.values.at(0) > 0.8);
  CHECK(t.metrics.at("test_accuracy") > 0.8);  // the t10k files are the test split
  const json p = json::parse(run_lepton_ok({"predict", "--model", t.artifacts.at("model"), "--data",
                                     dir.file("t10k-images-idx3-ubyte"), "--json", "--limit", "0"}).out);
  CHECK(p["samples"] == digits.valid.size());
  CHECK(p["metrics"]["accuracy"].get<double>() == Approx(t.metrics.at("test_accuracy")));
}

TEST_CASE("Fashion-MNIST from Debian's dataset-fashion-mnist loads through the idx plugin", "[e2e][idx][slow]") {
  const std::string folder = "/usr/share/datasets/fashion-mnist";
  REQUIRE(std::filesystem::is_directory(folder));  // scripts/setup installs dataset-fashion-mnist
  TempDir dir;
  const json e = experiment(
      "fashion",
      {{"plugin", "idx"}, {"path", folder}, {"subset", {{"classes", {0, 1, 7}}, {"train_per_class", 30}, {"valid_per_class", 30}}}},
      {{"plugin", "cnn"}, {"channels", 4}, {"blocks", 2}},
      {{"type", "train"}, {"epochs", 3}, {"lr", 0.01}, {"objective", {{"metric", "val_accuracy"}}}}, json::object(), 1);
  run_lepton_ok({"run", dir.write_json("fashion.json", e), "--storage", dir.sqlite_url(), "--quiet"});
  const auto t = trials_of(dir.sqlite_url(), "fashion").at(0);
  INFO(t.error);
  REQUIRE(t.state == TrialState::kComplete);
  CHECK(t.values.at(0) > 0.6);  // T-shirts, trousers and sneakers from 90 images
}
