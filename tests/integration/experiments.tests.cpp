// Smoke tests of experiments/: every file is listed with the test that runs it, parses and names
// plugins that exist; the digits, iris and Fashion-MNIST examples run as the README documents them
// (one trial each), studies feeding the next ones.
#include "plugins/registry.hpp"
#include "experiment/experiment.hpp"
#include "store/store.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <map>
#include <set>

using lepton::json;
using lepton::test::run_lepton;
using namespace lepton::engine;

namespace {
// Every file in experiments/, and the test that runs it (one trial each, as the README documents
// them). A new example fails the first test until it is listed here with a test that runs it.
const std::map<std::string, std::string> kExamples{
    {"breast_cancer_select.json", "the model-selection examples run as documented"},
    {"digits_distill.json", "the digits and iris examples run as documented"},
    {"digits_finetune.json", "the digits and iris examples run as documented"},
    {"digits_select.json", "the model-selection examples run as documented"},
    {"digits_source.json", "the digits and iris examples run as documented"},
    {"digits_student_size.json", "the digits and iris examples run as documented"},
    {"digits_teacher.json", "the digits and iris examples run as documented"},
    {"fashion_finetune.json", "the Fashion-MNIST transfer examples run as documented"},
    {"fashion_source.json", "the Fashion-MNIST transfer examples run as documented"},
    {"german_credit_select.json", "the model-selection examples run as documented"},
    {"hymenoptera_cnn.json", "the hymenoptera example trains a CNN on photo folders and predicts a folder and one photo"},
    {"iris_cv.json", "the digits and iris examples run as documented"},
    {"iris_select.json", "the model-selection examples run as documented"},
    {"quickstart.json", "the quickstart study reaches the accuracy bar and stores test metrics"},
    {"titanic.json", "the Titanic example reads the raw file, reaches 0.80 and predicts new passengers"},
    {"tpe.json", "the tpe example experiment runs"},
};

std::string example(const std::string& file) { return std::string(LEPTON_SOURCE_DIR) + "/experiments/" + file; }
}  // namespace

TEST_CASE("every example experiment parses and names plugins and studies that exist", "[experiments]") {
  Registry registry;
  registry.load_default();
  std::set<std::string> files, names;
  for (const auto& entry : std::filesystem::directory_iterator(std::string(LEPTON_SOURCE_DIR) + "/experiments"))
    files.insert(entry.path().filename().string());
  std::set<std::string> listed;
  for (const auto& [file, test] : kExamples) listed.insert(file);
  CHECK(files == listed);  // a file missing here has no test that runs it
  std::set<std::string> tests;
  for (const auto& test : Catch::getRegistryHub().getTestCaseRegistry().getAllTests()) tests.insert(test.name);
  for (const auto& [file, test] : kExamples) {
    INFO(file << " is run by \"" << test << "\"");
    CHECK(tests.count(test) == 1);
  }

  std::vector<Experiment> all;
  for (const auto& file : files) {
    INFO(file);
    REQUIRE(std::filesystem::path(file).extension() == ".json");
    all.push_back(load_experiment(example(file)));
    names.insert(all.back().name);
  }
  for (const auto& e : all) {
    INFO(e.name);
    CHECK_NOTHROW(registry.require(lepton::PluginKind::kDataset, e.dataset.plugin, "dataset.plugin"));
    if (!e.model.plugin.empty()) CHECK_NOTHROW(registry.require(lepton::PluginKind::kModel, e.model.plugin, "model.plugin"));
    CHECK_NOTHROW(registry.require(lepton::PluginKind::kSearcher, e.search.searcher, "search.searcher"));
    if (e.task.source && !e.task.source->study.empty()) CHECK(names.count(e.task.source->study) == 1);
  }
}

TEST_CASE("the digits and iris examples run as documented", "[experiments][slow]") {
  lepton::test::TempDir dir;
  const std::string url = dir.sqlite_url("examples.db");
  for (const char* file : {"digits_teacher", "digits_distill", "digits_student_size", "digits_source", "digits_finetune",
                           "iris_cv"}) {
    INFO(file);
    const auto r = run_lepton({"run", std::string(LEPTON_SOURCE_DIR) + "/experiments/" + file + ".json", "--storage",
                               url, "--trials", "1", "--quiet"},
                              {}, LEPTON_SOURCE_DIR);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK_THAT(r.out, Catch::Contains("1 trials: 1 complete"));
  }
}

TEST_CASE("the Fashion-MNIST transfer examples run as documented", "[experiments][slow]") {
  lepton::test::TempDir dir;
  const std::string url = dir.sqlite_url("examples.db");
  for (const char* file : {"fashion_source.json", "fashion_finetune.json"}) {
    INFO(file);
    const auto r = run_lepton({"run", example(file), "--storage", url, "--trials", "1", "--quiet"}, {}, LEPTON_SOURCE_DIR);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
    CHECK_THAT(r.out, Catch::Contains("1 trials: 1 complete"));
  }
}
