// The model subcommands: export copies a trial's saved model (model.json + weights.pt) into a
// folder of its own or one TorchScript file, pruned or with int8 layers when asked, and compares
// the compressed model with the original; predict runs a folder on a data file and scores it when
// it has labels.
#include "cli/model_commands.hpp"

#include "artifacts/torchscript_export.hpp"
#include "cli/commands.hpp"
#include "prepare/prepare.hpp"
#include "report/ranking.hpp"
#include "report/table.hpp"
#include "run/trial_params.hpp"
#include "store/store.hpp"
#include "train/checkpoint.hpp"
#include "train/model_stats.hpp"
#include "train/predict.hpp"
#include "train/preprocess.hpp"
#include "train/prune.hpp"
#include "train/trainer.hpp"

#include <spdlog/spdlog.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <tuple>

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

// Single-row latency of a TorchScript file's forward, median of 200 calls after 20 to warm up.
double row_latency_ms(torch::jit::Module& module, const std::vector<std::int64_t>& input_shape) {
  std::vector<std::int64_t> shape{1};
  shape.insert(shape.end(), input_shape.begin(), input_shape.end());
  const auto row = torch::rand(shape) * 2;
  torch::NoGradGuard no_grad;
  std::vector<double> times;
  for (int i = 0; i < 220; ++i) {
    const auto start = std::chrono::steady_clock::now();
    module.forward({row});
    if (i >= 20) times.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
  }
  std::nth_element(times.begin(), times.begin() + static_cast<std::ptrdiff_t>(times.size() / 2), times.end());
  return times[times.size() / 2];
}

// Accuracy of a TorchScript file's network on a split, fed what the engine's preprocessing makes
// of the split (the file's own preprocess() would start from rows before the dataset's scaling).
double file_accuracy(torch::jit::Module& module, const Preprocessor& pre, const lepton::Split& split) {
  if (split.size() == 0) return std::nan("");
  torch::NoGradGuard no_grad;
  auto network = module.attr("network").toModule();
  const auto logits = network.forward({pre.apply(split.x)}).toTensor();
  return logits.argmax(1).eq(split.y).to(torch::kDouble).mean().item<double>();
}

// `lepton export --format torchscript --quantize int8`: the float file and the int8 file side by
// side on the study's own validation and test splits.
void report_int8(const std::string& folder, const std::string& float_file, const TorchScriptExport& float_export,
                 const std::string& int8_file, const TorchScriptExport& int8_export, const StudyRecord& study,
                 const Registry& registry) {
  const lepton::DataSplits data = *prepare_experiment(experiment_of(study), registry).data;
  const ModelCard card = read_model_card(folder, "--trial");
  const Preprocessor pre = split_preprocessing(load_model(folder, card, registry, "--trial")).second;
  TextTable table({"weights", "file", "val_accuracy", "test_accuracy", "latency, 1 row"});
  for (const auto& [name, file, written] : {std::tuple{std::string("float32"), float_file, float_export},
                                            std::tuple{std::string("int8"), int8_file, int8_export}}) {
    auto module = torch::jit::load(file);
    module.eval();
    table.add_row({name, format_number(static_cast<double>(written.bytes) / 1000.0, 4) + " KB",
                   format_number(file_accuracy(module, pre, data.valid), 4), format_number(file_accuracy(module, pre, data.test), 4),
                   format_number(row_latency_ms(module, card.input_shape), 3) + " ms"});
  }
  std::cout << "int8: " << int8_export.quantized.linear << " linear layer(s) quantized dynamically"
            << (int8_export.quantized.kept_float ? ", " + std::to_string(int8_export.quantized.kept_float) +
                                                       " convolution(s) left in float32"
                                                 : std::string())
            << "; the file is " << format_number(static_cast<double>(float_export.bytes) / static_cast<double>(int8_export.bytes), 3)
            << "x smaller\n";
  table.print(std::cout);
}

// `--prune`: the trial's network with the smallest weights of each layer zeroed, fine-tuned for
// --prune-epochs on the study's training split (pruned weights held at zero, the trial's own
// optimizer settings), saved as a model folder at `folder`. Prints nonzero weights, validation and
// test accuracy and single-row latency before and after.
void prune_model(const std::string& source, const std::string& folder, const ModelExportArgs& args, const StudyRecord& study,
                 const TrialRecord& trial, ModelCard card, const Registry& registry) {
  const Experiment e = experiment_of(study);
  const lepton::DataSplits data = *prepare_experiment(e, registry).data;
  auto net = load_model(source, card, registry, "--trial");
  auto accuracy = [&](const lepton::Split& split) {
    if (split.size() == 0) return std::nan("");
    return predict_logits(*net, split.x).argmax(1).eq(split.y).to(torch::kDouble).mean().item<double>();
  };
  auto nonzero = [&] {
    std::int64_t n = 0;
    for (const auto& p : net->parameters()) n += p.ne(0).sum().item<std::int64_t>();
    return n;
  };
  TextTable table({"weights", "nonzero", "val_accuracy", "test_accuracy", "latency, 1 row"});
  auto add_row = [&](const std::string& name) {
    table.add_row({name, std::to_string(nonzero()), format_number(accuracy(data.valid), 4), format_number(accuracy(data.test), 4),
                   format_number(latency_ms(*net, data.valid.x.slice(0, 0, 1)), 3) + " ms"});
  };
  add_row("before");
  const PrunedWeights pruned = prune_by_magnitude(*net, *args.prune);
  if (args.prune_epochs > 0) {
    add_row("pruned");
    hold_pruned(pruned);
    TrainSettings settings = TrainSettings::read(route_trial_params(e, trial.params).settings, e.task.type);
    settings.epochs = args.prune_epochs;
    const lepton::TrialGeneratorScope generator(trial.seed);
    TrainingRun run(net, data.train, settings, all_parameters(*net));
    for (int epoch = 1; epoch <= args.prune_epochs; ++epoch) run.train_epoch(epoch);
    net->eval();
  }
  add_row(args.prune_epochs > 0 ? "fine-tuned" : "pruned");
  std::cout << "pruned " << pruned.zeroed << " of " << pruned.weights << " weights (" << format_number(100.0 * *args.prune, 3)
            << "% of each of " << pruned.parameters.size() << " layers, smallest magnitudes)"
            << (args.prune_epochs > 0 ? ", then " + std::to_string(args.prune_epochs) + " epoch(s) of fine-tuning" : std::string())
            << "\n";
  table.print(std::cout);
  card.provenance["pruned"] = {{"fraction", *args.prune}, {"epochs", args.prune_epochs}, {"zeroed", pruned.zeroed},
                               {"weights", pruned.weights}};
  save_model(folder, *net, card);
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
  if (args.prune_epochs > 0 && !args.prune) throw ConfigError("--prune-epochs", "fine-tunes after --prune FRACTION; give both");
  if (!args.quantize.empty() && args.format != "torchscript")
    throw ConfigError("--quantize", "int8 layers exist only in TorchScript files; add --format torchscript (a model folder "
                                    "keeps its plugin's float network)");
  if (std::filesystem::exists(args.output) && !args.force && (args.format == "torchscript" || args.prune))
    throw ConfigError("-o", args.output + " already exists; pass --force to replace it");
  Registry registry;
  registry.load_default();
  std::string model_folder = artifact->second;
  struct RemoveAtExit {
    std::string path;
    ~RemoveAtExit() {
      std::error_code ec;
      if (!path.empty()) std::filesystem::remove_all(path, ec);
    }
  } pruned_copy{args.prune && args.format == "torchscript" ? args.output + ".pruned.tmp" : std::string()};
  if (args.prune) {
    model_folder = args.format == "torchscript" ? pruned_copy.path : args.output;
    prune_model(artifact->second, model_folder, args, study, trial, card, registry);
  }
  if (args.format == "torchscript") {
    const bool int8 = args.quantize == "int8";
    std::optional<TorchScriptExport> float_export;
    const std::string float_file = args.output + ".float32.tmp";
    struct RemoveAtExit {
      std::string file;
      ~RemoveAtExit() {
        std::error_code ec;
        std::filesystem::remove(file, ec);
      }
    } float_copy{int8 ? float_file : std::string()};
    if (int8) float_export = export_torchscript(model_folder, registry, float_file, card.provenance);
    const auto written = export_torchscript(model_folder, registry, args.output, card.provenance, int8);
    if (int8) report_int8(model_folder, float_file, *float_export, args.output, written, study, registry);
    next = "python3 -c \"import torch; m = torch.jit.load('" + args.output + "'); print(m.class_names)\" (" +
           written.network_source + " network; probabilities within " + format_number(written.max_difference, 2) +
           " of the model's)";
  } else if (!args.prune) {
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
  export_->add_option("--quantize", export_args_.quantize,
                      "int8: store the linear layers' weights as int8 (dynamic quantization; with --format torchscript), "
                      "and print size, accuracy and latency before and after")
      ->check(CLI::IsMember({"int8"}));
  export_->add_option("--prune", export_args_.prune,
                      "Zero this fraction of each layer's smallest weights, e.g. 0.5, and print accuracy before and after")
      ->check(CLI::Range(0.0, 0.99));
  export_->add_option("--prune-epochs", export_args_.prune_epochs,
                      "Fine-tune the pruned network this many epochs on the study's training split (pruned weights stay zero)")
      ->check(CLI::Range(0, 10000));
  export_->footer(R"(
Every COMPLETE trial saves its model beside the store (lepton.db -> lepton.artifacts/STUDY/trial-N/).
The folder holds model.json (model plugin and parameters, classes, the dataset plugin's options and
fitted preprocessing such as standardization statistics) and weights.pt: all `lepton predict` needs,
and what a finetune task's "source" or a distill task's "teacher" can name.
--format torchscript writes one file instead, for PyTorch without Lepton: torch.jit.load(FILE)(rows)
gives class probabilities {N, classes} for raw rows {N, features} (as the dataset plugin reads them,
before its standardization); the fitted preprocessing is inside, and the file has class_names,
feature_names, input_shape, logits(rows) and preprocess(rows). It works for every model family.
--quantize int8 (with --format torchscript) stores the linear layers' weights as int8, quantizing
activations per batch (PyTorch's dynamic quantization, onednn or qnnpack); convolutions stay float32.
It prints the file size, validation and test accuracy (on the study's own splits) and single-row
latency of the float32 and the int8 file side by side. lepton predict, lepton serve and torch.jit.load
run it as any other.
--prune FRACTION zeroes that fraction of every linear and convolution layer's smallest weights (either
format), optionally fine-tuned for --prune-epochs N on the study's training split with the trial's own
settings, the pruned weights held at zero; it prints the same comparison. Both can be combined.
Examples:
  lepton export --storage sqlite:///lepton.db --study digits-teacher --trial best -o models/teacher
  lepton export --storage sqlite:///lepton.db --study digits-teacher --format torchscript -o teacher.pt
  lepton export --storage sqlite:///lepton.db --study digits-student --format torchscript --quantize int8 -o student.pt)");

  predict_ = app.add_subcommand("predict", "Predict a data file with an exported model; score it when it has labels");
  predict_->add_option("--model", predict_args_.model,
                       "An exported model's folder (or a trial's artifact folder), or a file from export --format torchscript")
      ->required();
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
