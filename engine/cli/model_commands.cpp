// The model subcommands: export copies a trial's saved model (model.json + weights.pt) into a
// folder of its own; predict runs such a folder on a data file and scores it when it has labels.
#include "cli/model_commands.hpp"

#include "artifacts/torchscript_export.hpp"
#include "cli/commands.hpp"
#include "report/ranking.hpp"
#include "report/table.hpp"
#include "train/checkpoint.hpp"
#include "train/predict.hpp"
#include "store/store.hpp"

#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>

namespace lepton::cli {

using namespace lepton::engine;

namespace {

TrialRecord require_trial(const std::vector<TrialRecord>& trials, const StudyRecord& study, const std::string& which) {
  if (which == "best") {
    if (auto best = best_trial(trials, study.objectives)) return *best;
    throw ConfigError("--trial", "study " + study.name + " has no COMPLETE trial yet");
  }
  int number = -1;
  try {
    std::size_t used = 0;
    number = std::stoi(which, &used);
    if (used != which.size()) number = -1;
  } catch (const std::exception&) {
  }
  if (number < 0) throw ConfigError("--trial", "expected \"best\" or a trial number, got \"" + which + "\"");
  for (const auto& t : trials)
    if (t.number == number) return t;
  throw ConfigError("--trial", "study " + study.name + " has no trial " + which + " (it has " +
                                   std::to_string(trials.size()) + " trials, numbered from 0)");
}

void print_metrics(const ClassificationMetrics& m, std::ostream& out) {
  TextTable table({"metric", "value"});
  for (const char* name : {"accuracy", "precision", "recall", "f1", "roc_auc", "loss"})
    table.add_row({name, format_number(metric_value(m, name), 6)});
  table.print(out);
}

json metrics_object(const ClassificationMetrics& m) {
  json out = json::object();
  for (const char* name : {"accuracy", "precision", "recall", "f1", "roc_auc", "loss"}) {
    const double v = metric_value(m, name);
    out[name] = std::isfinite(v) ? json(v) : json(nullptr);
  }
  return out;
}

}  // namespace

int export_command(const ModelExportArgs& args) {
  auto store = open_store(args.storage, OpenMode::kExisting);
  const StudyRecord study = require_study(*store, args.study);
  const auto trials = store->trials(study.id);
  const TrialRecord trial = require_trial(trials, study, args.trial);
  const auto artifact = trial.artifacts.find("model");
  if (artifact == trial.artifacts.end()) {
    const std::string why = trial.state != TrialState::kComplete
                                ? std::string("it is ") + to_string(trial.state) + "; only COMPLETE trials save their model"
                                : trial.attrs.contains("artifact_error") ? trial.attrs["artifact_error"].get<std::string>()
                                                                          : "its study ran without a place for artifacts";
    throw ConfigError("--trial", "trial " + std::to_string(trial.number) + " of study " + study.name +
                                     " has no saved model: " + why);
  }
  // The copy says where it came from, so it stands on its own.
  ModelCard card = read_model_card(artifact->second, "--trial");
  card.provenance["storage"] = store->url();
  card.provenance["study"] = study.name;
  card.provenance["trial"] = trial.number;
  card.provenance["values"] = trial_to_json(trial, study.objectives)["values"];
  std::string next = "lepton predict --model " + args.output + " --data FILE";
  if (args.format == "torchscript") {
    if (std::filesystem::exists(args.output) && !args.force)
      throw ConfigError("-o", args.output + " already exists; pass --force to replace it");
    Registry registry;
    registry.load_default();
    const auto written = export_torchscript(artifact->second, registry, args.output, card.provenance);
    next = "python3 -c \"import torch; m = torch.jit.load('" + args.output + "'); print(m.class_names)\" (" +
           written.network_source + " network; probabilities within " + format_number(written.max_difference, 2) +
           " of the model's)";
  } else {
    copy_model(artifact->second, args.output, args.force);
    std::ofstream(std::filesystem::path(args.output) / kModelCardFile) << card.to_json().dump(2) << "\n";
  }

  std::cout << "Exported trial " << trial.number << " of study " << study.name;
  for (std::size_t i = 0; i < study.objectives.size() && i < trial.values.size(); ++i)
    std::cout << (i ? ", " : " (") << study.objectives[i].metric << " " << format_number(trial.values[i])
              << (i + 1 == study.objectives.size() ? ")" : "");
  std::cout << " to " << args.output << ": " << card.model_plugin << " model, " << card.class_names.size()
            << " classes, input " << json(card.input_shape).dump() << "\n"
            << "Next: " << next << "\n";
  return 0;
}

int predict_command(const PredictArgs& args) {
  Registry registry;
  registry.load_default();
  const lepton::engine::Predictions p = predict_file(args.model, args.data, registry);
  for (const auto& notice : p.notices) spdlog::warn("{}: {}", args.data, notice);
  const auto n = p.predicted.size(0);
  const auto shown = std::min<std::int64_t>(n, args.limit ? std::max<long long>(0, *args.limit) : n);
  const auto confidence = std::get<0>(p.probabilities.max(1)).contiguous();
  const auto predicted = p.predicted.contiguous();
  const auto* cp = confidence.data_ptr<double>();
  const auto* pp = predicted.data_ptr<std::int64_t>();
  const at::Tensor labels = p.labels.defined() ? p.labels.contiguous() : at::Tensor();
  const std::int64_t* lp = labels.defined() ? labels.data_ptr<std::int64_t>() : nullptr;
  auto name_of = [&](std::int64_t c) { return c >= 0 ? p.card.class_names.at(static_cast<std::size_t>(c)) : std::string("?"); };

  if (args.json) {
    const auto probabilities = p.probabilities.contiguous();
    const auto classes = probabilities.size(1);
    const double* all = probabilities.data_ptr<double>();
    json rows = json::array();
    for (std::int64_t i = 0; i < shown; ++i) {
      json row = {{"index", i}, {"class", name_of(pp[i])}, {"class_index", pp[i]}, {"confidence", cp[i]},
                  {"probabilities", std::vector<double>(all + i * classes, all + (i + 1) * classes)}};
      if (lp) row["label"] = lp[i] >= 0 ? json(name_of(lp[i])) : json(nullptr);
      if (!p.sample_names.empty()) row["sample"] = p.sample_names[static_cast<std::size_t>(i)];
      rows.push_back(row);
    }
    json out = {{"model", args.model}, {"data", args.data}, {"samples", n}, {"predictions", rows}};
    if (p.metrics) out["metrics"] = metrics_object(*p.metrics);
    if (lp) out["scored"] = p.scored;
    std::cout << out.dump(2) << std::endl;
    return 0;
  }
  const bool named = !p.sample_names.empty();
  std::vector<std::string> header{"#", "predicted", "confidence"};
  if (lp) header.push_back("label");
  if (named) header.push_back("sample");
  TextTable table(header);
  for (std::int64_t i = 0; i < shown; ++i) {
    std::vector<std::string> row{std::to_string(i), name_of(pp[i]), format_number(cp[i], 4)};
    if (lp) row.push_back(lp[i] >= 0 ? name_of(lp[i]) : "(other)");
    if (named) row.push_back(p.sample_names[static_cast<std::size_t>(i)]);
    table.add_row(std::move(row));
  }
  if (shown > 0) table.print(std::cout);
  if (shown < n) std::cout << "... " << n - shown << " more (--limit)\n";
  std::cout << "\n" << n << " samples predicted by " << args.model;
  if (!lp) {
    std::cout << "; the data has no labels, so no metrics\n";
    return 0;
  }
  std::cout << "; " << p.scored << " with a label among the model's classes";
  if (!p.metrics) {
    std::cout << ", so no metrics\n";
    return 0;
  }
  std::cout << ":\n";
  print_metrics(*p.metrics, std::cout);
  return 0;
}

ModelCommands::ModelCommands(CLI::App& app) {
  export_ = app.add_subcommand("export", "Write a trial's trained model to a folder of its own, or to one TorchScript file");
  export_->add_option("--storage", export_args_.storage, "Study store URL")->required();
  export_->add_option("--study", export_args_.study, "Study name")->required();
  export_->add_option("--trial", export_args_.trial, "Trial number, or best (default)");
  export_->add_option("-o,--output", export_args_.output, "Folder to write (created); with --format torchscript, the file")
      ->required();
  export_->add_option("--format", export_args_.format, "folder (default: for lepton predict, finetune and distill) or "
                                                      "torchscript (one file for PyTorch, no Lepton needed)")
      ->check(CLI::IsMember({"folder", "torchscript"}));
  export_->add_flag("--force", export_args_.force, "Replace a model already there");
  export_->footer(R"(
Every COMPLETE trial saves its model beside the store (lepton.db -> lepton.artifacts/STUDY/trial-N/).
The folder holds model.json (model plugin and parameters, classes, the dataset plugin's options and
fitted preprocessing such as standardization statistics) and weights.pt: all `lepton predict` needs,
and what a finetune task's "source" or a distill task's "teacher" can name.
--format torchscript writes one file instead, for PyTorch without Lepton: torch.jit.load(FILE)(rows)
gives class probabilities {N, classes} for raw rows {N, features} (as the dataset plugin reads them,
before its standardization); the fitted preprocessing is inside, and the file has class_names,
feature_names, input_shape, logits(rows) and preprocess(rows). It works for every model family.
Examples:
  lepton export --storage sqlite:///lepton.db --study digits-teacher --trial best -o models/teacher
  lepton export --storage sqlite:///lepton.db --study digits-teacher --format torchscript -o teacher.pt)");

  predict_ = app.add_subcommand("predict", "Predict a data file with an exported model; score it when it has labels");
  predict_->add_option("--model", predict_args_.model, "An exported model's folder (or a trial's artifact folder)")->required();
  predict_->add_option("--data", predict_args_.data, "The file to predict, in the format the model was trained from "
                                                    "(for images: a folder, one image or a manifest)")->required();
  predict_->add_option("--limit", predict_args_.limit, "Print at most N predictions (metrics still cover every sample)")
      ->check(CLI::Range(0LL, 1'000'000'000'000LL));
  predict_->add_flag("--json", predict_args_.json, "Print one JSON object: predictions (with every class's probability) and metrics");
  predict_->footer(R"(
The file is read by the model's dataset plugin with its training options, replaying what was fitted
on the training split (e.g. standardization). A CSV may keep or drop its label column; an IDX images
file finds its labels file beside it. Images come as a folder (class folders give labels), one image
or a CSV manifest, each named in the output. With labels, the metrics follow the predictions.
Example:
  lepton predict --model models/teacher --data data/digits.csv.gz --limit 10)");
}

std::optional<int> ModelCommands::run() const {
  if (*export_) return export_command(export_args_);
  if (*predict_) return predict_command(predict_args_);
  return std::nullopt;
}

}  // namespace lepton::cli
