// The experiment file: parsed, validated, and ready for the engine. Errors name the JSON path.
#pragma once

#include "experiment/model_choices.hpp"
#include "experiment/parameters.hpp"
#include "metrics/objective.hpp"
#include "experiment/execution.hpp"
#include "data/folds.hpp"
#include "data/subset.hpp"
#include "experiment/pruner_spec.hpp"

#include <lepton/search_space.hpp>
#include <lepton/searcher.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace lepton::engine {

/// A plugin named in the experiment, with the rest of its section as its configuration.
struct PluginSection {
  std::string plugin;            ///< the plugin's registered name
  json config = json::object();  ///< the section without "plugin"
  std::string path;              ///< JSON path of the section, e.g. "dataset"
};

/// Where a fine-tuning source or a distillation teacher comes from: a saved model (`lepton export`'s
/// output, or a trial's artifact folder), or a trial of a study.
struct ModelSource {
  std::string file;            ///< a saved model's folder (or its model.json); empty when a study is named
  std::string study;           ///< the study whose trial to take
  std::string trial = "best";  ///< "best" (the first objective's best COMPLETE trial) or a trial number
  std::string storage;         ///< the store holding the study; empty: the store this study runs in
  std::string path;            ///< JSON path of the reference, for error messages
};

/// The `task` section.
struct TaskSection {
  TaskType type = TaskType::kTrain;
  json settings = json::object();  ///< fixed trainer settings (epochs, batch_size, optimizer, lr, class_weight, ...)
  /// One per objective. Names that are not built-in metrics must be declared by a metric plugin of
  /// the experiment's `metrics`; prepare_experiment() checks them.
  std::vector<Objective> objectives;
  std::optional<ModelSource> source;  ///< finetune: `source`; distill: `teacher`
  CrossValidation cross_validation;   ///< `cross_validation`: k folds over train + valid
};

/// The `search` section.
struct SearchSection {
  std::string searcher = "random";
  int trials = 20;
  int parallel = 1;
  std::uint64_t seed = 0;
  SearchSpace space;
  json options = json::object();
};

/// A validated experiment.
struct Experiment {
  std::string name;
  std::string description;
  PluginSection dataset;
  PluginSection model;                  ///< with model choices: the first family's plugin and fixed values
  std::vector<ModelChoice> model_choices;  ///< `model.choices`: the families searched (empty: one model)
  json preprocess = json::object();     ///< fixed preprocessing settings (`preprocess`)
  std::vector<PluginSection> metrics;   ///< metric plugins, `"metrics": [{"plugin": "clinical", ...}]`
  TaskSection task;
  SearchSection search;
  ExecutionSection execution;           ///< isolation, limits, retries: how trials run, not what they compute
  DataSubset subset;                    ///< `dataset.subset`, applied by the engine to any dataset plugin
  PrunerSpec pruner;                    ///< the `pruner` section
  std::string storage;                  ///< storage URL; empty means the default
  std::vector<std::string> data_dirs;   ///< where relative data files are looked up, in order
  json document;                        ///< the file as read
};

/// The storage URL used when neither the experiment nor the command line gives one.
inline constexpr const char* kDefaultStorage = "sqlite:///lepton.db";

/// Validates an experiment document. Throws ConfigError naming the JSON path of the first problem.
Experiment parse_experiment(const json& document, std::vector<std::string> data_dirs);

/// Parses and validates an experiment's JSON text; syntax errors give the line and column.
Experiment parse_experiment_text(const std::string& text, std::vector<std::string> data_dirs);

/// Reads and validates an experiment file. Relative data files are looked up in the working
/// directory, then in the file's folder, then (for an experiment inside a domain pack) in the
/// pack's folder. Syntax errors give the line and column.
Experiment load_experiment(const std::string& file);

/// The parts of two experiments that decide a study's results (data, model, task, space, searcher,
/// seed); empty when they agree, else the first section that differs, e.g. "search.space".
std::string first_difference(const Experiment& a, const Experiment& b);

}  // namespace lepton::engine
