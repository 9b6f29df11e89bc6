// Model selection against its peers: on each shipped tabular data set, the joint search over model
// families and preprocessing (experiments/*_select.json) beside each family searched alone with the
// same trial budget, seed and searcher. The bar: joint >= the best single family on validation.
//
//   build/bin/bench_model_selection [--trials 60] [--seeds 5] [--only iris] [--searcher tpe] [--parallel 2]
//
// One seed decides little on validation splits of 45 to 360 samples, so every search runs with
// `seeds` study seeds and the bar compares the means.
#include "plugins/registry.hpp"
#include "studies.hpp"
#include "report/ranking.hpp"
#include "report/table.hpp"
#include "run/study.hpp"
#include "experiment/experiment.hpp"
#include "store/store.hpp"

#include <chrono>
#include <cmath>
#include <map>
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

// Mean and spread of one search over seeds.
struct Summary {
  std::vector<double> valid, test;
  std::map<std::string, int> families;  // which family the best trial had, per seed
  double seconds = 0;
  void add(const Outcome& o) {
    valid.push_back(o.valid);
    test.push_back(o.test);
    ++families[o.best_family];
    seconds += o.seconds;
  }
  static double mean(const std::vector<double>& v) { return lepton::bench::spread(v).mean; }
  std::string valid_text() const {
    const auto s = lepton::bench::spread(valid);
    return format_number(s.mean) + " ± " + format_number(s.std);
  }
  std::string family_text() const {
    std::string out;
    for (const auto& [name, count] : families) out += (out.empty() ? "" : ", ") + name + " " + std::to_string(count);
    return out;
  }
};

}  // namespace

int main(int argc, char** argv) {
  int trials = 60, seeds = 5;
  std::string only, searcher;
  int parallel = 0;
  for (int i = 1; i < argc; i += 2) {
    const std::string flag = argv[i];
    if (i + 1 >= argc || (flag != "--trials" && flag != "--seeds" && flag != "--only" && flag != "--searcher" && flag != "--parallel")) {
      std::cerr << "usage: bench_model_selection [--trials 60] [--seeds 5] [--only iris] [--searcher tpe] [--parallel 2]\n";
      return 2;
    }
    if (flag == "--trials") trials = std::atoi(argv[i + 1]);
    if (flag == "--seeds") seeds = std::atoi(argv[i + 1]);
    if (flag == "--only") only = argv[i + 1];
    if (flag == "--searcher") searcher = argv[i + 1];
    if (flag == "--parallel") parallel = std::atoi(argv[i + 1]);
  }
  Registry registry;
  registry.load_default();
  const auto folder = std::filesystem::temp_directory_path() / ("lepton-bench-select-" + std::to_string(::getpid()));
  std::filesystem::create_directories(folder);

  TextTable table({"data set", "search", "best val_accuracy (mean ± sd)", "its test_accuracy", "best family (seeds)", "time"});
  TextTable bar({"data set", "joint", "best single family", "joint - single", "seeds joint >= that family",
                 "bar (joint >= single, mean)"});
  for (const char* name : {"breast_cancer", "iris", "digits", "german_credit"}) {
    if (!only.empty() && only != name) continue;
    std::ifstream in(std::string(LEPTON_SOURCE_DIR) + "/experiments/" + name + "_select.json");
    json document = json::parse(in);
    if (!searcher.empty() && searcher != document["search"].value("searcher", "")) {
      document["search"]["searcher"] = searcher;
      document["search"].erase("options");  // the example's options are its own searcher's
    }
    if (parallel > 0) document["search"]["parallel"] = parallel;
    const json families = document.at("model").at("choices");
    const auto first_seed = document.at("search").value("seed", std::int64_t{0});
    // Search s of every kind uses the study seed first_seed + s: the same seed budget for all.
    auto over_seeds = [&](json experiment) {
      Summary summary;
      const std::string study = experiment.at("name").get<std::string>();
      for (int s = 0; s < seeds; ++s) {
        experiment["search"]["seed"] = first_seed + s;
        experiment["name"] = study + "-seed" + std::to_string(s);
        summary.add(run(experiment, registry, trials, folder.string()));
      }
      return summary;
    };
    const Summary joint = over_seeds(document);
    table.add_row({name, "joint (" + std::to_string(families.size()) + " families)", joint.valid_text(),
                   format_number(Summary::mean(joint.test)), joint.family_text(), format_duration(joint.seconds)});
    const Summary* best = nullptr;
    std::string best_name;
    std::vector<Summary> alone(families.size());
    std::size_t f = 0;
    for (const auto& family : families.items()) {
      json experiment = document;
      experiment["name"] = document.at("name").get<std::string>() + "-" + family.key();
      experiment["model"]["choices"] = {{family.key(), family.value()}};
      alone[f] = over_seeds(experiment);
      const Summary& o = alone[f++];
      table.add_row({name, family.key() + " alone", o.valid_text(), format_number(Summary::mean(o.test)), o.family_text(),
                     format_duration(o.seconds)});
      if (!best || Summary::mean(o.valid) > Summary::mean(best->valid)) {
        best = &o;
        best_name = family.key();
      }
    }
    constexpr double kTie = 1e-9;  // means of equal accuracies can differ in the last bit
    int wins = 0;
    for (int s = 0; s < seeds; ++s) wins += joint.valid[s] >= best->valid[s] - kTie ? 1 : 0;
    double gap = Summary::mean(joint.valid) - Summary::mean(best->valid);
    if (std::abs(gap) < kTie) gap = 0;
    bar.add_row({name, format_number(Summary::mean(joint.valid)), best_name + " " + format_number(Summary::mean(best->valid)),
                 format_number(gap), std::to_string(wins) + " of " + std::to_string(seeds), gap >= 0 ? "met" : "NOT met"});
    std::cout << std::flush;
  }
  std::cout << "Model selection: " << trials << " trials per search, " << seeds
            << " study seeds; each family alone has the joint search's searcher, seeds, preprocessing space and its "
               "own space\n\n";
  table.print(std::cout);
  std::cout << "\n";
  bar.print(std::cout);
  std::filesystem::remove_all(folder);
  return 0;
}
