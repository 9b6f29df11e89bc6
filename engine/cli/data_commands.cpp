// `lepton data inspect`: loads a file through its dataset plugin exactly as a run would, and says
// what came out: rows and splits, each column's type, missing cells and categories, the class
// balance, and the notices a run would print.
#include "cli/data_commands.hpp"

#include "plugins/registry.hpp"
#include "report/table.hpp"

#include <torch/torch.h>

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <map>

namespace lepton::cli {

namespace {

using engine::Registry;

// The dataset plugin a file's name suggests.
std::string plugin_for(const std::string& path) {
  const std::string name = std::filesystem::path(path).filename().string();
  auto ends_with = [&](const std::string& suffix) {
    return name.size() >= suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0;
  };
  if (ends_with(".csv") || ends_with(".csv.gz") || ends_with(".txt")) return "csv";
  if (ends_with(".arff")) return "arff";
  if (ends_with("-ubyte") || ends_with("-ubyte.gz")) return "idx";
  if (std::filesystem::is_directory(path)) {  // MNIST's files, or a folder of images
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(path, ec))
      if (entry.path().filename().string().find("-ubyte") != std::string::npos) return "idx";
    return "images";
  }
  throw ConfigError("--plugin", "cannot tell the dataset plugin from \"" + name +
                                    "\"; name it, e.g. --plugin csv (`lepton plugins list` shows them)");
}

// Each feature: the plugin's own description when it gives one (csv), else what the data shows.
json describe_features(const DataSplits& data) {
  if (data.info.contains("columns")) return data.info["columns"];
  std::map<std::int64_t, const CategoricalColumn*> categorical;
  for (const auto& c : data.categorical) categorical[c.column] = &c;
  json out = json::array();
  const auto features = data.train.x.reshape({data.train.size(), -1});
  for (std::int64_t f = 0; f < features.size(1) && f < 4096; ++f) {
    json d = {{"name", f < static_cast<std::int64_t>(data.feature_names.size()) ? data.feature_names[static_cast<std::size_t>(f)]
                                                                                 : "x" + std::to_string(f)}};
    if (const auto it = categorical.find(f); it != categorical.end()) {
      d["type"] = "categorical";
      d["categories"] = it->second->values;
    } else {
      d["type"] = "numeric";
    }
    out.push_back(std::move(d));
  }
  return out;
}

std::int64_t flat_size(const std::vector<std::int64_t>& shape) {
  std::int64_t n = 1;
  for (const auto d : shape) n *= d;
  return n;
}

// Samples with a shape of their own (images) are described as a whole, not pixel by pixel.
bool image_like(const DataSplits& data) { return data.input_shape.size() > 1; }

json sample_summary(const DataSplits& data) {
  const auto& x = data.train.x;  // no copy: a folder of images can be large
  json out = {{"shape", data.input_shape},
              {"min", x.min().item<double>()},
              {"max", x.max().item<double>()},
              {"mean", x.sum(torch::kDouble).item<double>() / static_cast<double>(std::max<std::int64_t>(x.numel(), 1))}};
  if (data.pixels.defined()) out["pixels"] = {{"mean", data.pixels.mean}, {"std", data.pixels.std}};
  return out;
}

json class_counts(const DataSplits& data) {
  std::vector<std::int64_t> counts(data.class_names.size(), 0);
  for (const auto* split : {&data.train, &data.valid, &data.test})
    if (split->size() > 0 && split->y.defined()) {
      const auto per_class = torch::bincount(split->y.reshape({-1}), {}, static_cast<std::int64_t>(counts.size()));
      for (std::size_t k = 0; k < counts.size(); ++k) counts[k] += per_class[static_cast<std::int64_t>(k)].item<std::int64_t>();
    }
  json out = json::array();
  for (std::size_t k = 0; k < counts.size(); ++k) out.push_back({{"class", data.class_names[k]}, {"rows", counts[k]}});
  return out;
}

// What a run would warn about, beyond the plugin's own notices.
std::vector<std::string> warnings(const DataSplits& data, const json& classes) {
  std::vector<std::string> out;
  for (const auto& notice : data.info.value("notices", json::array())) out.push_back(notice.get<std::string>());
  std::int64_t total = 0;
  for (const auto& c : classes) total += c["rows"].get<std::int64_t>();
  // A label with a value per row or so is a number to predict, not classes: say that once.
  if (classes.size() > 20 && static_cast<std::int64_t>(classes.size()) * 2 > total) {
    out.push_back("the label has " + std::to_string(classes.size()) + " distinct values in " + std::to_string(total) +
                  " rows: it looks continuous, not a class; name the class column with --label (a run would "
                  "train a classifier with one class per value)");
    return out;
  }
  // Rare and small classes, each kind said once with the first few names.
  std::vector<std::string> tiny, rare;
  for (const auto& c : classes) {
    const auto rows = c["rows"].get<std::int64_t>();
    if (rows < 10) tiny.push_back("\"" + c["class"].get<std::string>() + "\" (" + std::to_string(rows) + ")");
    else if (total > 0 && rows * 20 < total)
      rare.push_back("\"" + c["class"].get<std::string>() + "\" (" + engine::format_number(100.0 * rows / total, 2) + "%)");
  }
  auto listed = [](const std::vector<std::string>& items) {
    std::string text;
    for (std::size_t i = 0; i < items.size() && i < 5; ++i) text += (i ? ", " : "") + items[i];
    return text + (items.size() > 5 ? ", ..." : "");
  };
  if (!tiny.empty())
    out.push_back(std::to_string(tiny.size()) + " class(es) with fewer than 10 rows, " + listed(tiny) +
                  ": their validation metrics will be noisy");
  if (!rare.empty())
    out.push_back(std::to_string(rare.size()) + " class(es) under 5% of the rows, " + listed(rare) +
                  ": consider \"class_weight\": \"balanced\" and val_f1 or val_roc_auc as the objective");
  if (data.class_names.size() < 2) out.push_back("fewer than 2 classes: a run refuses this data");
  return out;
}

// The files behind image samples: how many, their sizes, colour modes and formats.
void print_image_files(const json& images) {
  auto spread = [](const json& s) {
    return std::to_string(s["min"].get<int>()) + " .. " + std::to_string(s["max"].get<int>()) + " (median " +
           std::to_string(s["median"].get<int>()) + ")";
  };
  auto counts = [](const json& c) {
    std::string text;
    for (const auto& [name, n] : c.items()) text += (text.empty() ? "" : ", ") + name + " " + std::to_string(n.get<std::int64_t>());
    return text;
  };
  std::cout << "files: " << images["files"].get<std::int64_t>() << " images in " << images["distinct_sizes"].get<std::int64_t>()
            << " sizes; width " << spread(images["width"]) << ", height " << spread(images["height"]) << "\n"
            << "modes: " << counts(images["modes"]) << "; formats: " << counts(images["formats"]) << "\n";
}

void print_text(const std::string& path, const std::string& plugin, const DataSplits& data, const json& features,
                const json& classes, const std::vector<std::string>& notes) {
  std::cout << path << " (" << plugin << "): " << data.info.value("rows", data.train.size() + data.valid.size() + data.test.size())
            << " rows, " << flat_size(data.input_shape) << " features, " << data.class_names.size() << " classes\n";
  std::cout << "split: train " << data.train.size() << ", valid " << data.valid.size() << ", test " << data.test.size()
            << "\n\n";
  if (image_like(data)) {
    const json summary = sample_summary(data);
    std::string shape;
    for (const auto d : data.input_shape) shape += (shape.empty() ? "" : " x ") + std::to_string(d);
    std::cout << "samples: " << shape << ", values " << engine::format_number(summary["min"].get<double>()) << " .. "
              << engine::format_number(summary["max"].get<double>()) << " (mean "
              << engine::format_number(summary["mean"].get<double>()) << ", training split)\n";
    if (summary.contains("pixels")) {
      auto list = [](const json& values) {
        std::string text;
        for (const auto& v : values) text += (text.empty() ? "" : ", ") + engine::format_number(v.get<double>(), 3);
        return text;
      };
      std::cout << "pixels: kept as bytes; networks read (x / 255 - mean) / std per channel, mean "
                << list(summary["pixels"]["mean"]) << ", std " << list(summary["pixels"]["std"]) << "\n";
    }
  }
  if (data.info.contains("images")) print_image_files(data.info["images"]);
  engine::TextTable columns({"feature", "type", "missing", "values"});
  for (const auto& f : features) {
    std::string values;
    if (f.contains("categories")) {
      const auto& categories = f["categories"];
      for (std::size_t i = 0; i < categories.size() && i < 8; ++i) values += (i ? ", " : "") + categories[i].get<std::string>();
      if (categories.size() > 8) values += ", ... (" + std::to_string(categories.size()) + ")";
    } else if (f.contains("min")) {
      values = engine::format_number(f["min"].get<double>()) + " .. " + engine::format_number(f["max"].get<double>());
    }
    columns.add_row({f["name"].get<std::string>(), f["type"].get<std::string>(),
                     f.contains("missing") ? std::to_string(f["missing"].get<std::int64_t>()) : "-", values});
  }
  if (!columns.empty()) columns.print(std::cout);
  std::int64_t total = 0;
  for (const auto& c : classes) total += c["rows"].get<std::int64_t>();
  std::cout << "\nclasses" << (data.info.contains("label") ? " (label " + data.info["label"].get<std::string>() + ")" : "")
            << ":\n";
  engine::TextTable balance({"class", "rows", "share"});
  std::size_t balance_rows = 0;
  constexpr std::size_t kShownClasses = 20;  // the rest are counted; --json lists them all
  for (const auto& c : classes) {
    if (balance_rows++ == kShownClasses) break;
    const auto rows = c["rows"].get<std::int64_t>();
    balance.add_row({c["class"].get<std::string>(), std::to_string(rows),
                     total > 0 ? engine::format_number(100.0 * rows / total, 3) + "%" : "-"});
  }
  balance.print(std::cout);
  if (classes.size() > kShownClasses)
    std::cout << "... and " << classes.size() - kShownClasses << " more classes (--json lists them all)\n";
  if (!notes.empty()) {
    std::cout << "\nnotices:\n";
    for (const auto& n : notes) std::cout << "  " << n << "\n";
  }
}

}  // namespace

int data_inspect_command(const DataInspectArgs& args) {
  const std::string plugin = args.plugin.empty() ? plugin_for(args.path) : args.plugin;
  Registry registry;
  registry.load_default();
  registry.require(PluginKind::kDataset, plugin, "--plugin");
  DatasetRequest request;
  request.config = read_config_option(args.config);
  request.config["path"] = args.path;
  if (!args.label.empty()) request.config["label"] = args.label;
  request.path = "dataset";
  request.search_dirs = {std::filesystem::current_path().string()};
  const DataSplits data = registry.dataset(plugin).load(request);
  const json features = image_like(data) ? json::array() : describe_features(data);
  const json classes = class_counts(data);
  const std::vector<std::string> notes = warnings(data, classes);
  if (args.json) {
    std::cout << json{{"path", args.path},
                      {"plugin", plugin},
                      {"rows", data.info.value("rows", data.train.size() + data.valid.size() + data.test.size())},
                      {"input_shape", data.input_shape},
                      {"splits", {{"train", data.train.size()}, {"valid", data.valid.size()}, {"test", data.test.size()}}},
                      {"features", features},
                      {"samples", image_like(data) ? sample_summary(data) : json(nullptr)},
                      {"classes", classes},
                      {"notices", notes},
                      {"info", data.info}}
                     .dump(2)
              << std::endl;
  } else {
    print_text(args.path, plugin, data, features, classes, notes);
  }
  return 0;
}

DataCommands::DataCommands(CLI::App& app) {
  auto* data = app.add_subcommand("data", "Look at data before running on it: lepton data inspect FILE");
  data->require_subcommand(1);
  inspect_ = data->add_subcommand("inspect", "What Lepton will see in a data file, without running anything");
  inspect_->add_option("path", args_.path, "The data file (or folder), as a dataset's \"path\" would name it")->required();
  inspect_->add_option("--plugin", args_.plugin, "The dataset plugin (default: from the name: .csv csv, .arff arff, *-ubyte idx, a folder images)");
  inspect_->add_option("--label", args_.label, "The label column (default: the plugin's, e.g. the last column)");
  inspect_->add_option("--config", args_.config,
                       "More dataset settings as in an experiment's \"dataset\" section: a JSON object or @file, "
                       "e.g. '{\"types\": {\"Pclass\": \"categorical\"}}'");
  inspect_->add_flag("--json", args_.json, "Print JSON instead of tables");
  inspect_->footer(R"(
Loads the file through the dataset plugin exactly as `lepton run` would (the same types, missing cells,
categories and split), then prints each feature's type, missing cells and categories, the class
balance, and the notices a run would give.

Examples:
  lepton data inspect data/titanic.csv --label Survived
  lepton data inspect data/credit-g.arff --json
  lepton data inspect data/hymenoptera --config '{"size": [64, 64]}'
  lepton data inspect sales.csv --label churned --config '{"missing": ["-", "n/a"]}')");
}

std::optional<int> DataCommands::run() const {
  if (*inspect_) return data_inspect_command(args_);
  return std::nullopt;
}

}  // namespace lepton::cli
