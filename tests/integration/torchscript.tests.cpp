// TorchScript models through the real binary: files written by Python at test time are trained,
// searched by path, refused with a clear message when they cannot fit, fine-tuned (with the
// frozen backbone's feature cache), distilled both ways and resumed after kill -9.
#include "train/checkpoint.hpp"
#include "store/store.hpp"
#include "support/process.hpp"
#include "support/study_files.hpp"
#include "support/temp_dir.hpp"
#include "support/torchscript.hpp"

#include <catch2/catch.hpp>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <set>

using lepton::json;
using lepton::TrialState;
using lepton::test::run_lepton;
using lepton::test::run_lepton_ok;
using lepton::test::TempDir;
using lepton::test::trials_of;
using lepton::test::torchscript_module;
using namespace lepton::engine;

namespace {

namespace fs = std::filesystem;

const std::string kDigits = std::string(LEPTON_DATA_DIR) + "/digits.csv.gz";

json digits(json subset = nullptr) {
  json d = {{"plugin", "csv"}, {"path", kDigits}, {"shape", {1, 8, 8}}, {"standardize", true},
            {"split", {{"valid", 0.2}, {"test", 0.2}, {"seed", 0}}}};
  if (!subset.is_null()) d["subset"] = subset;
  return d;
}

json experiment(const std::string& name, json dataset, json model, json task, json space, int trials,
                const std::string& searcher = "random") {
  task["objective"] = {{"metric", "val_accuracy"}};
  return {{"name", name},
          {"dataset", std::move(dataset)},
          {"model", std::move(model)},
          {"task", std::move(task)},
          {"search", {{"searcher", searcher}, {"trials", trials}, {"parallel", 2}, {"seed", 1}, {"space", std::move(space)}}}};
}

// Copies the Python-written module `name` into `dir`, so experiments there name it relatively.
void copy_module(const TempDir& dir, const std::string& name) {
  fs::copy_file(torchscript_module(name), dir.file(name), fs::copy_options::overwrite_existing);
}

}  // namespace

TEST_CASE("a TorchScript file trains with its path searched: scripted and traced, kept and reset weights",
          "[torchscript][e2e][slow]") {
  TempDir dir;
  copy_module(dir, "cnn10.pt");
  copy_module(dir, "traced10.pt");
  const std::string url = dir.sqlite_url();
  const json e = experiment("scripts", digits(), {{"plugin", "torchscript"}},
                            {{"type", "train"}, {"epochs", 3}, {"lr", 0.01}},
                            {{"path", {{"type", "categorical"}, {"choices", {"cnn10.pt", "traced10.pt"}}}},
                             {"init", {{"type", "categorical"}, {"choices", {"keep", "reset"}}}}},
                            4, "grid");
  // Run from elsewhere: the files are found beside the experiment.
  const auto r = run_lepton({"run", dir.write_json("e.json", e), "--storage", url, "--quiet"}, {}, "/");
  INFO(r.out << r.err);
  REQUIRE(r.exit_code == 0);
  const auto trials = trials_of(url, "scripts");
  REQUIRE(trials.size() == 4);
  std::set<std::string> combinations;
  for (const auto& t : trials) {
    INFO(t.error);
    REQUIRE(t.state == TrialState::kComplete);
    CHECK(t.values.at(0) > 0.6);
    combinations.insert(t.params["path"].get<std::string>() + " " + t.params["init"].get<std::string>());
  }
  CHECK(combinations.size() == 4);
  // Its saved model predicts from any working directory: the card remembers where the file was found.
  const json p = json::parse(
      run_lepton({"predict", "--model", trials[0].artifacts.at("model"), "--data", kDigits, "--json", "--limit", "1"}, {}, "/").out);
  CHECK(p["metrics"]["accuracy"].get<double>() > 0.6);
  CHECK(p["predictions"][0]["probabilities"].size() == 10);
}

TEST_CASE("a TorchScript file that cannot fit is refused before any trial, exit 2", "[torchscript][bad_input][slow]") {
  TempDir dir;
  for (const char* name : {"cnn10.pt", "cnn3.pt", "rgb10.pt", "frozen10.pt", "softmax10.pt", "state_dict.pt"})
    copy_module(dir, name);
  struct Case {
    json model;
    json space;
    std::vector<std::string> says;
  };
  const std::vector<Case> cases{
      {{{"path", "missing.pt"}}, json::object(),
       {"model.path: TorchScript file \"missing.pt\" not found", "torch.jit.script(model).save"}},
      {{{"path", "state_dict.pt"}}, json::object(), {"model.path: ", "state_dict.pt is not a TorchScript file"}},
      {{{"path", "cnn3.pt"}}, json::object(), {"cnn3.pt outputs 3 values per sample", "the data has 10 classes"}},
      {{{"path", "rgb10.pt"}}, json::object(),
       {"rgb10.pt cannot take the data's samples of shape [1,8,8]", "its first layer conv1 (Conv2d) takes 3 input channels"}},
      {{{"path", "frozen10.pt"}}, json::object(), {"frozen10.pt has no trainable parameters"}},
      {{{"path", "softmax10.pt"}}, json::object(), {"model.head: ", "does not return the output of its head \"fc\""}},
      {{{"path", "cnn10.pt"}, {"head", "conv9"}}, json::object(), {"model.head: cnn10.pt has no submodule \"conv9\""}},
      {json::object(), {{"path", {{"type", "categorical"}, {"choices", {"cnn10.pt", "cnn3.pt"}}}}},
       {"search.space.path.choices[1]: cnn3.pt outputs 3 values per sample"}},
  };
  for (std::size_t i = 0; i < cases.size(); ++i) {
    json model = cases[i].model;
    model["plugin"] = "torchscript";
    const std::string url = dir.sqlite_url("bad" + std::to_string(i) + ".db");
    const json e = experiment("bad", digits(), model, {{"type", "train"}, {"epochs", 1}}, cases[i].space, 1);
    const auto r = run_lepton({"run", dir.write_json("bad.json", e), "--storage", url});
    INFO(r.err);
    CHECK(r.exit_code == 2);
    for (const auto& text : cases[i].says) CHECK_THAT(r.err, Catch::Contains(text));
    CHECK_FALSE(fs::exists(dir.file("bad" + std::to_string(i) + ".db")));  // nothing ran, nothing was stored
  }
}

TEST_CASE("a TorchScript source fine-tuned on new classes: its head replaced, the frozen backbone's features cached",
          "[torchscript][transfer][slow]") {
  TempDir dir;
  copy_module(dir, "cnn5.pt");
  const std::string url = dir.sqlite_url();
  const json source = experiment("source", digits({{"classes", {"0", "1", "2", "3", "4"}}}),
                                 {{"plugin", "torchscript"}, {"path", "cnn5.pt"}, {"head", "fc"}},
                                 {{"type", "train"}, {"epochs", 4}, {"lr", 0.01}}, json::object(), 1);
  run_lepton_ok({"run", dir.write_json("source.json", source), "--storage", url, "--quiet"});
  REQUIRE(trials_of(url, "source").at(0).state == TrialState::kComplete);

  json target = experiment("probe", digits({{"classes", {"5", "6", "7", "8", "9"}}, {"train_per_class", 10}}), nullptr,
                           {{"type", "finetune"}, {"source", {{"study", "source"}}}, {"epochs", 15}, {"lr", 0.02},
                            {"batch_size", 10}, {"backbone_lr_scale", 0.0}},
                           json::object(), 2);
  target.erase("model");
  std::map<bool, std::vector<double>> accuracy;
  for (const bool cache : {true, false}) {
    target["name"] = cache ? "probe-cached" : "probe-uncached";
    target["task"]["feature_cache"] = cache;
    run_lepton_ok({"run", dir.write_json("probe.json", target), "--storage", url, "--quiet"});
    for (const auto& t : trials_of(url, target["name"].get<std::string>())) {
      INFO(t.error);
      REQUIRE(t.state == TrialState::kComplete);
      CHECK(t.attrs["new_head"] == true);
      CHECK(t.values.at(0) > 0.5);
      accuracy[cache].push_back(t.values.at(0));
    }
  }
  // The same trials (seeds), the backbone in eval mode either way: the cache changes the speed only.
  for (std::size_t i = 0; i < accuracy[true].size(); ++i) CHECK(accuracy[true][i] == Approx(accuracy[false][i]).margin(0.02));

  // The saved fine-tuned model is the whole network: the source's backbone, the new head.
  const auto probe = trials_of(url, "probe-cached").at(0);
  const json p = json::parse(run_lepton_ok({"predict", "--model", probe.artifacts.at("model"), "--data", kDigits, "--json",
                                     "--limit", "0"}).out);
  CHECK(p["scored"].get<int>() == 1797 - 901);
  CHECK(p["metrics"]["accuracy"].get<double>() > 0.5);

  // Freezing counts the module's top-level children with parameters: conv1, bn1, conv2.
  json partial = target;
  partial["name"] = "partial";
  partial["task"].erase("backbone_lr_scale");
  partial["task"]["freeze_layers"] = 2;
  run_lepton_ok({"run", dir.write_json("partial.json", partial), "--storage", url, "--quiet"});
  const auto partials = trials_of(url, "partial");
  REQUIRE(partials.size() == 2);
  for (const auto& t : partials) CHECK(t.state == TrialState::kComplete);
  partial["name"] = "too-deep";
  partial["task"]["freeze_layers"] = 4;
  const auto r = run_lepton({"run", dir.write_json("deep.json", partial), "--storage", url});
  CHECK(r.exit_code == 2);
  CHECK_THAT(r.err, Catch::Contains("the source's model has 3 backbone layers"));
}

TEST_CASE("a TorchScript model distils into an mlp, and learns as a student with a feature hint from a named submodule",
          "[torchscript][transfer][slow]") {
  TempDir dir;
  copy_module(dir, "cnn10.pt");
  const std::string url = dir.sqlite_url();
  const json teacher = experiment("ts-teacher", digits(), {{"plugin", "torchscript"}, {"path", "cnn10.pt"}, {"feature_module", "conv2"}},
                                  {{"type", "train"}, {"epochs", 4}, {"lr", 0.01}}, json::object(), 1);
  run_lepton_ok({"run", dir.write_json("teacher.json", teacher), "--storage", url, "--quiet"});
  const json mlp = experiment("mlp-student", digits(), {{"plugin", "mlp"}, {"hidden", 32}},
                              {{"type", "distill"}, {"teacher", {{"study", "ts-teacher"}}}, {"epochs", 4}, {"lr", 0.01},
                               {"feature_weight", 0.5}, {"teacher_layer", 0}},
                              json::object(), 1);
  run_lepton_ok({"run", dir.write_json("mlp.json", mlp), "--storage", url, "--quiet"});
  const auto students = trials_of(url, "mlp-student");
  INFO(students.at(0).error);
  CHECK(students.at(0).state == TrialState::kComplete);
  CHECK(students.at(0).values.at(0) > 0.6);

  // And the other way: a first-party cnn teaches the TorchScript file, conv1's output matched to the cnn's first block.
  const json cnn = experiment("cnn-teacher", digits(), {{"plugin", "cnn"}, {"channels", 8}},
                              {{"type", "train"}, {"epochs", 3}, {"lr", 0.01}}, json::object(), 1);
  run_lepton_ok({"run", dir.write_json("cnn.json", cnn), "--storage", url, "--quiet"});
  const json student = experiment("ts-student", digits(), {{"plugin", "torchscript"}, {"path", "cnn10.pt"}, {"feature_module", "conv1"},
                                                           {"init", "reset"}},
                                  {{"type", "distill"}, {"teacher", {{"study", "cnn-teacher"}}}, {"epochs", 3}, {"lr", 0.01},
                                   {"feature_weight", 0.5}, {"teacher_layer", 0}, {"student_layer", 0}},
                                  json::object(), 1);
  run_lepton_ok({"run", dir.write_json("student.json", student), "--storage", url, "--quiet"});
  const auto ts = trials_of(url, "ts-student");
  INFO(ts.at(0).error);
  CHECK(ts.at(0).state == TrialState::kComplete);
  CHECK(ts.at(0).values.at(0) > 0.6);
}

TEST_CASE("a TorchScript study killed with SIGKILL is finished by resume", "[torchscript][resume][slow]") {
  TempDir dir;
  copy_module(dir, "cnn10.pt");
  const std::string url = dir.sqlite_url();
  const json e = experiment("killed", digits(), {{"plugin", "torchscript"}, {"path", "cnn10.pt"}},
                            {{"type", "train"}, {"epochs", 12}, {"batch_size", 64}},
                            {{"lr", {{"type", "float"}, {"low", 1e-3}, {"high", 1e-2}, {"log", true}}}}, 8);
  lepton::test::BackgroundProcess run({LEPTON_BIN, "run", dir.write_json("e.json", e), "--storage", url}, dir.file("run"));
  const auto complete = [&] { return lepton::test::count_state(url, "killed", TrialState::kComplete); };
  lepton::test::wait_until([&] { return complete() >= 2; }, std::chrono::seconds(120));
  run.kill(SIGKILL);
  CHECK(run.wait() == 128 + SIGKILL);
  const auto before = trials_of(url, "killed");
  REQUIRE(complete() >= 2);
  REQUIRE(complete() < 8);

  const auto resumed = run_lepton({"resume", "--storage", url, "--study", "killed"});
  INFO(resumed.err);
  REQUIRE(resumed.exit_code == 0);
  const auto after = trials_of(url, "killed");
  int done = 0;
  for (const auto& t : after) done += t.state == TrialState::kComplete ? 1 : 0;
  CHECK(done == 8);
  for (const auto& old : before)
    if (old.state == TrialState::kComplete) CHECK(after.at(static_cast<std::size_t>(old.number)).values == old.values);
}
