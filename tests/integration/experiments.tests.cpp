// Smoke tests of experiments/: every file parses and names plugins that exist; the digits and iris
// examples run as the README documents them (one trial each), studies feeding the next ones.
#include "plugins/registry.hpp"
#include "experiment/experiment.hpp"
#include "store/store.hpp"
#include "support/process.hpp"
#include "support/temp_dir.hpp"

#include <catch2/catch.hpp>

#include <filesystem>
#include <set>

using lepton::json;
using lepton::test::run_lepton;
using namespace lepton::engine;

TEST_CASE("every example experiment parses and names plugins and studies that exist", "[experiments]") {
  Registry registry;
  registry.load_default();
  std::set<std::string> names;
  std::vector<Experiment> all;
  for (const auto& entry : std::filesystem::directory_iterator(std::string(LEPTON_SOURCE_DIR) + "/experiments")) {
    if (entry.path().extension() != ".json") continue;
    INFO(entry.path());
    all.push_back(load_experiment(entry.path().string()));
    names.insert(all.back().name);
  }
  CHECK(all.size() >= 9);
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
