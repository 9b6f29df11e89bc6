// Model selection against its peers: on each shipped tabular data set, the joint search over model
// families and preprocessing (experiments/*_select.json) beside each family searched alone with the
// same trial budget, seed and searcher. The bar: joint >= the best single family on validation.
//
//   build/bin/bench_model_selection [--trials 60] [--only iris] [--searcher tpe] [--parallel 2]
#include "plugins/registry.hpp"
#include "report/ranking.hpp"
#include "report/table.hpp"
#include "run/study.hpp"
#include "spec/experiment.hpp"
#include "store/store.hpp"

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <string>
#include <vector>

#include <unistd.h>

using namespace lepton::engine;
using lepton::json;

namespace {

struct Outcome {
  double valid = 0, test = 0, seconds = 0;
  std::string best_family;
};

// Runs `document` as a fresh study and returns its best trial's validation and test accuracy.
Outcome run(json document, const Registry& registry, int trials, const std::string& folder) {
  const auto started = std::chrono::steady_clock::now();
  const Experiment e = parse_experiment(document, {LEPTON_SOURCE_DIR});
  const PreparedExperiment prepared = prepare_experiment(e, registry);
  auto store = open_store("sqlite:///" + folder + "/" + e.name + ".db");
  ProgressSink quiet;
  const auto summary = run_study(prepared, *store, registry, RunOptions{trials, e.search.parallel}, quiet, e.name);
  const auto all = store->trials(summary.study.id);
  const auto best = best_trial(all, e.task.objectives);
  Outcome out;
  out.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  if (!best) return out;
  out.valid = best->metrics.at("val_accuracy");
  out.test = best->metrics.count("test_accuracy") ? best->metrics.at("test_accuracy") : 0.0;
  out.best_family = best->params.value("model", "");
  std::cerr << e.name << ": best val_accuracy " << out.valid << " in " << format_duration(out.seconds) << std::endl;
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  int trials = 60;
  std::string only, searcher;
  int parallel = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--trials") trials = std::atoi(argv[i + 1]);
    if (flag == "--only") only = argv[i + 1];
    if (flag == "--searcher") searcher = argv[i + 1];
    if (flag == "--parallel") parallel = std::atoi(argv[i + 1]);
  }
  Registry registry;
  registry.load_default();
  const auto folder = std::filesystem::temp_directory_path() / ("lepton-bench-select-" + std::to_string(::getpid()));
  std::filesystem::create_directories(folder);

  TextTable table({"data set", "search", "best val_accuracy", "its test_accuracy", "best family", "time"});
  TextTable bar({"data set", "joint", "best single family", "joint - single", "bar (joint >= single)"});
  for (const char* name : {"breast_cancer", "iris", "digits", "german_credit"}) {
    if (!only.empty() && only != name) continue;
    std::ifstream in(std::string(LEPTON_SOURCE_DIR) + "/experiments/" + name + "_select.json");
    json document = json::parse(in);
    if (!searcher.empty()) document["search"]["searcher"] = searcher;
    if (parallel > 0) document["search"]["parallel"] = parallel;
    const json families = document.at("model").at("choices");
    const Outcome joint = run(document, registry, trials, folder.string());
    table.add_row({name, "joint (" + std::to_string(families.size()) + " families)", format_number(joint.valid),
                   format_number(joint.test), joint.best_family, format_duration(joint.seconds)});
    double single_best = -1;
    std::string single_name;
    for (const auto& family : families.items()) {
      json alone = document;
      alone["name"] = document.at("name").get<std::string>() + "-" + family.key();
      alone["model"]["choices"] = {{family.key(), family.value()}};
      const Outcome o = run(alone, registry, trials, folder.string());
      table.add_row({name, family.key() + " alone", format_number(o.valid), format_number(o.test), family.key(),
                     format_duration(o.seconds)});
      if (o.valid > single_best) {
        single_best = o.valid;
        single_name = family.key();
      }
    }
    bar.add_row({name, format_number(joint.valid), single_name + " " + format_number(single_best),
                 format_number(joint.valid - single_best), joint.valid >= single_best ? "met" : "NOT met"});
    std::cout << std::flush;
  }
  std::cout << "Model selection: " << trials << " trials per search; each family alone has the joint search's searcher, "
               "seed, preprocessing space and its own space\n\n";
  table.print(std::cout);
  std::cout << "\n";
  bar.print(std::cout);
  std::filesystem::remove_all(folder);
  return 0;
}
