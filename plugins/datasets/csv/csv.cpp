// The CSV dataset plugin: numeric features and a label column, split stratified by class with a
// seed, optionally standardized with statistics of the training split only.
#include "csv_reader.hpp"

#include <lepton/lepton.hpp>
#include <lepton/splits.hpp>

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <numeric>
#include <set>

namespace {

using lepton::ConfigError;
using lepton::ConfigObject;
using lepton::json;

struct Table {
  std::vector<std::string> names;  // column names (generated when the file has none)
  std::vector<lepton::csv::Row> rows;
  std::vector<std::string> sklearn_classes;
  std::int64_t sklearn_samples = -1, sklearn_features = -1;
};

bool is_integer(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
}

// Decides what the first line is: sklearn's "samples,features,class names...", column names, or data.
Table read_table(const std::string& file, char delimiter, const std::string& header, const std::string& path) {
  Table t;
  try {
    t.rows = lepton::csv::read_rows(file, delimiter);
  } catch (const std::exception& e) {
    throw ConfigError(path, e.what());
  }
  if (t.rows.empty()) throw ConfigError(path, file + " is empty; expected a table");
  const auto& first = t.rows[0].cells;
  std::string kind = header;
  if (kind == "auto") {
    double ignored;
    const bool sklearn = t.rows.size() >= 2 && first.size() >= 2 && is_integer(first[0]) && is_integer(first[1]) &&
                         first.size() != t.rows[1].cells.size() &&
                         std::stoll(first[1]) + 1 == static_cast<long long>(t.rows[1].cells.size());
    const bool names = std::any_of(first.begin(), first.end(), [&](const std::string& c) {
      return !lepton::csv::parse_number(c, ignored);
    });
    kind = sklearn ? "sklearn" : names ? "names" : "none";
  }
  // One line is a table too (a single sample to predict), when it holds data rather than a header.
  if (kind != "none" && t.rows.size() < 2) throw ConfigError(path, file + " holds a header but no data rows");
  const std::size_t columns = kind == "none" ? first.size() : t.rows[1].cells.size();
  if (kind == "sklearn") {
    if (first.size() < 2 || !is_integer(first[0]) || !is_integer(first[1]))
      throw ConfigError(path, file + ":1: expected sklearn's header \"samples,features,class names...\"");
    t.sklearn_samples = std::stoll(first[0]);
    t.sklearn_features = std::stoll(first[1]);
    t.sklearn_classes.assign(first.begin() + 2, first.end());
    t.rows.erase(t.rows.begin());
  } else if (kind == "names") {
    t.names = first;
    t.rows.erase(t.rows.begin());
  }
  if (t.names.empty())
    for (std::size_t i = 0; i < columns; ++i) t.names.push_back("x" + std::to_string(i));
  for (const auto& row : t.rows)
    if (row.cells.size() != t.names.size())
      throw ConfigError(path, file + ":" + std::to_string(row.line) + ": " + std::to_string(row.cells.size()) +
                                  " fields, but the table has " + std::to_string(t.names.size()) + " columns");
  return t;
}

std::size_t column_index(const Table& t, const json& which, const std::string& path) {
  const auto n = static_cast<std::int64_t>(t.names.size());
  if (which.is_number_integer()) {
    std::int64_t i = which.get<std::int64_t>();
    if (i < 0) i += n;
    if (i < 0 || i >= n)
      throw ConfigError(path, "column index " + which.dump() + " is outside the " + std::to_string(n) + " columns");
    return static_cast<std::size_t>(i);
  }
  if (!which.is_string()) throw ConfigError(path, "expected a column name or index, got " + lepton::describe_json(which));
  const auto name = which.get<std::string>();
  const auto it = std::find(t.names.begin(), t.names.end(), name);
  if (it == t.names.end()) throw lepton::unknown_name_error(path, "column", name, t.names);
  return static_cast<std::size_t>(it - t.names.begin());
}

// The sample shape from the "shape" option: flat features when absent.
std::vector<std::int64_t> read_shape(const ConfigObject& cfg, std::size_t features) {
  std::vector<std::int64_t> input_shape{static_cast<std::int64_t>(features)};
  if (!cfg.has("shape")) return input_shape;
  const json& shape = cfg.raw("shape");
  std::int64_t product = 1;
  input_shape.clear();
  if (!shape.is_array() || shape.empty())
    throw ConfigError(cfg.path_of("shape"), "expected an array of sizes, e.g. [1, 8, 8]");
  for (std::size_t i = 0; i < shape.size(); ++i) {
    const auto d = lepton::convert<std::int64_t>(shape[i], cfg.path_of("shape") + "[" + std::to_string(i) + "]");
    if (d <= 0) throw ConfigError(cfg.path_of("shape") + "[" + std::to_string(i) + "]", "sizes must be positive");
    input_shape.push_back(d);
    product *= d;
  }
  if (product != static_cast<std::int64_t>(features))
    throw ConfigError(cfg.path_of("shape"), "shape " + shape.dump() + " holds " + std::to_string(product) +
                                                " values, but each row has " + std::to_string(features) + " features");
  return input_shape;
}

// Features of every row as float32 {N, shape...}, scaled; `columns` are the table columns to read.
torch::Tensor read_features(const Table& t, const std::vector<std::size_t>& columns, double scale,
                            const std::vector<std::int64_t>& input_shape, const std::string& file_name,
                            const std::string& path) {
  const auto n = static_cast<std::int64_t>(t.rows.size());
  const auto d = static_cast<std::int64_t>(columns.size());
  auto x = torch::empty({n, d}, torch::kFloat32);
  auto* xp = x.data_ptr<float>();
  for (std::int64_t r = 0; r < n; ++r) {
    const auto& row = t.rows[static_cast<std::size_t>(r)];
    for (std::int64_t c = 0; c < d; ++c) {
      const std::string& cell = row.cells[columns[static_cast<std::size_t>(c)]];
      double v;
      if (!lepton::csv::parse_number(cell, v))
        throw ConfigError(path, file_name + ":" + std::to_string(row.line) + ", column \"" +
                                    t.names[columns[static_cast<std::size_t>(c)]] + "\": " +
                                    (cell.empty() ? std::string("missing value") : "not a number: \"" + cell + "\"") +
                                    "; clean the file or drop the column with \"drop\"");
      xp[r * d + c] = static_cast<float>(v * scale);
    }
  }
  std::vector<std::int64_t> shape{n};
  shape.insert(shape.end(), input_shape.begin(), input_shape.end());
  return x.reshape(shape);
}

// Two label cells name the same class: equal text, or equal numbers ("5" and "5.0").
bool same_label(const std::string& a, const std::string& b) {
  if (a == b) return true;
  double va, vb;
  return lepton::csv::parse_number(a, va) && lepton::csv::parse_number(b, vb) && va == vb;
}

class CsvDataset final : public lepton::Dataset {
 public:
  lepton::DataSplits load(const lepton::DatasetRequest& request) const override {
    ConfigObject cfg(request.config, request.path);
    const std::string configured = cfg.required<std::string>("path");
    const std::string file = request.predict ? lepton::resolve_data_file(request.file, request.search_dirs, "--data")
                                             : lepton::resolve_data_file(configured, request.search_dirs, cfg.path_of("path"));
    const std::string header = cfg.one_of("header", {"auto", "sklearn", "names", "none"}, std::string("auto"));
    const std::string delimiter = cfg.optional<std::string>("delimiter", ",");
    if (delimiter.size() != 1) throw ConfigError(cfg.path_of("delimiter"), "expected one character, got \"" + delimiter + "\"");
    const double scale = cfg.optional<double>("scale", 1.0);
    const bool standardize = cfg.optional<bool>("standardize", false);

    const lepton::SplitOptions split = lepton::SplitOptions::read(cfg);

    const Table t = read_table(file, delimiter[0], header, request.predict ? "--data" : cfg.path_of("path"));
    const std::string file_name = std::filesystem::path(file).filename().string();
    if (request.predict) return load_for_prediction(cfg, request, t, file, scale);

    const std::size_t label_column =
        cfg.has("label") ? column_index(t, cfg.raw("label"), cfg.path_of("label")) : t.names.size() - 1;
    std::set<std::size_t> dropped{label_column};
    if (cfg.has("drop")) {
      const json& drop = cfg.raw("drop");
      if (!drop.is_array()) throw ConfigError(cfg.path_of("drop"), "expected an array of column names or indices");
      for (std::size_t i = 0; i < drop.size(); ++i)
        dropped.insert(column_index(t, drop[i], cfg.path_of("drop") + "[" + std::to_string(i) + "]"));
    }
    std::vector<std::size_t> features;
    for (std::size_t c = 0; c < t.names.size(); ++c)
      if (!dropped.count(c)) features.push_back(c);
    if (features.empty()) throw ConfigError(request.path, "no feature columns left after the label and dropped ones");
    const std::vector<std::int64_t> input_shape = read_shape(cfg, features.size());
    cfg.finish();

    if (t.sklearn_samples >= 0 && static_cast<std::int64_t>(t.rows.size()) != t.sklearn_samples)
      throw ConfigError(cfg.path_of("path"), file_name + " declares " + std::to_string(t.sklearn_samples) +
                                                 " samples in its header but holds " + std::to_string(t.rows.size()) +
                                                 "; the file is truncated or wrong");
    if (t.sklearn_features >= 0 && t.sklearn_features != static_cast<std::int64_t>(t.names.size() - 1))
      throw ConfigError(cfg.path_of("path"), file_name + " declares " + std::to_string(t.sklearn_features) +
                                                 " features but rows hold " + std::to_string(t.names.size() - 1));

    // Labels: integers keep their numeric order, other values are sorted as text.
    std::vector<std::string> raw_labels;
    bool numeric_labels = true;
    for (const auto& row : t.rows) {
      raw_labels.push_back(row.cells[label_column]);
      double v;
      if (raw_labels.back().empty())
        throw ConfigError(cfg.path_of("path"), file_name + ":" + std::to_string(row.line) + ": the label is missing");
      if (!lepton::csv::parse_number(raw_labels.back(), v) || std::floor(v) != v) numeric_labels = false;
    }
    const std::set<std::string> distinct(raw_labels.begin(), raw_labels.end());
    std::vector<std::string> classes(distinct.begin(), distinct.end());
    if (numeric_labels)
      std::sort(classes.begin(), classes.end(), [](const std::string& a, const std::string& b) { return std::stod(a) < std::stod(b); });
    std::map<std::string, std::int64_t> class_index;
    for (std::size_t i = 0; i < classes.size(); ++i) class_index[classes[i]] = static_cast<std::int64_t>(i);
    std::vector<std::string> class_names = classes;
    // sklearn's header names the classes 0..K-1 in order.
    if (!t.sklearn_classes.empty() && numeric_labels && t.sklearn_classes.size() == classes.size()) {
      bool sequential = true;
      for (std::size_t i = 0; i < classes.size(); ++i) sequential = sequential && std::stod(classes[i]) == static_cast<double>(i);
      if (sequential) class_names = t.sklearn_classes;
    }

    const auto n = static_cast<std::int64_t>(t.rows.size());
    const auto x = read_features(t, features, scale, input_shape, file_name, cfg.path_of("path"));
    std::vector<std::int64_t> labels(static_cast<std::size_t>(n));
    for (std::size_t r = 0; r < labels.size(); ++r) labels[r] = class_index.at(raw_labels[r]);
    const auto y = torch::tensor(labels, torch::kLong);

    const auto parts = lepton::split_rows(labels, static_cast<std::int64_t>(classes.size()), split);
    lepton::DataSplits out;
    out.train = lepton::take_rows(x, y, parts[0], input_shape);
    out.valid = lepton::take_rows(x, y, parts[1], input_shape);
    out.test = lepton::take_rows(x, y, parts[2], input_shape);
    out.fitted = {{"columns", t.names.size()}, {"label_column", label_column}, {"features", features},
                  {"labels", classes},         {"class_names", class_names}};
    if (standardize) out.fitted["standardization"] = lepton::standardize(out).to_json();
    out.input_shape = input_shape;
    out.class_names = class_names;
    for (const auto c : features) out.feature_names.push_back(t.names[c]);
    out.info = {{"file", file},          {"rows", n},
                {"features", features.size()}, {"classes", class_names.size()},
                {"train", out.train.size()}, {"valid", out.valid.size()},
                {"test", out.test.size()}};
    return out;
  }

 private:
  // Reads a file laid out like the training one, with or without its label column, into `test`.
  static lepton::DataSplits load_for_prediction(const ConfigObject& cfg, const lepton::DatasetRequest& request,
                                                const Table& t, const std::string& file, double scale) {
    cfg.allow({"label", "drop", "shape", "split"});
    const json& fitted = request.fitted;
    const std::string fitted_path = "model.json: dataset.fitted";
    if (!fitted.is_object() || !fitted.contains("columns") || !fitted.contains("labels"))
      throw ConfigError(fitted_path, "expected the csv plugin's fitted state (columns, label_column, features, labels)");
    const auto columns = fitted.at("columns").get<std::size_t>();
    const auto label_column = fitted.at("label_column").get<std::size_t>();
    const auto labels = fitted.at("labels").get<std::vector<std::string>>();
    const std::string file_name = std::filesystem::path(file).filename().string();
    bool has_labels;
    if (t.names.size() == columns) {
      has_labels = true;
    } else if (t.names.size() + 1 == columns) {
      has_labels = false;
    } else {
      throw ConfigError("--data", file_name + " has " + std::to_string(t.names.size()) + " columns; the model was trained on " +
                                      std::to_string(columns) + " (with the label) or takes " + std::to_string(columns - 1) +
                                      " (without it)");
    }
    // Training column c sits at c in a file with labels, and one place earlier after the label without.
    std::vector<std::size_t> features;
    for (const auto c : fitted.at("features").get<std::vector<std::size_t>>())
      features.push_back(has_labels || c < label_column ? c : c - 1);
    const std::vector<std::int64_t> input_shape = read_shape(cfg, features.size());
    lepton::DataSplits out;
    out.test.x = read_features(t, features, scale, input_shape, file_name, "--data");
    if (has_labels) {
      out.test.y = torch::full({static_cast<std::int64_t>(t.rows.size())}, -1, torch::kLong);
      auto* yp = out.test.y.data_ptr<std::int64_t>();
      for (std::size_t r = 0; r < t.rows.size(); ++r)
        for (std::size_t k = 0; k < labels.size(); ++k)
          if (same_label(t.rows[r].cells[label_column], labels[k])) {
            yp[r] = static_cast<std::int64_t>(k);
            break;
          }
    }
    if (fitted.contains("standardization"))
      out.test.x = lepton::Standardization::from_json(fitted.at("standardization"), fitted_path + ".standardization")
                       .apply(out.test.x);
    out.input_shape = input_shape;
    out.class_names = fitted.value("class_names", labels);
    out.fitted = fitted;
    out.info = {{"file", file}, {"rows", t.rows.size()}, {"labels", has_labels}};
    return out;
  }
};

}  // namespace

LEPTON_PLUGIN() { registrar.add_dataset(std::make_unique<CsvDataset>()); }
