// The CSV dataset plugin: tables as they come (numbers, text categories, missing cells) with a label
// column, from one file split stratified by class with a seed, or from separate train, valid and
// test files; missing cells are filled and standardization fitted on the training split only.
#include "columns.hpp"
#include "csv_reader.hpp"
#include "data_files.hpp"

#include <lepton/lepton.hpp>
#include <lepton/splits.hpp>

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <map>
#include <numeric>
#include <optional>
#include <set>

namespace {

using lepton::ConfigError;
using lepton::ConfigObject;
using lepton::json;

struct Table {
  std::vector<std::string> names;  // column names (generated when the file has none)
  bool named = false;              // the file's first line named the columns
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
    // sklearn's first line is "samples,features,class names...": the class names may be as many as
    // the row's cells (iris: 3 classes, 4 features and the label), but they are not all numbers.
    const bool sklearn =
        t.rows.size() >= 2 && first.size() >= 2 && is_integer(first[0]) && is_integer(first[1]) &&
        std::stoll(first[1]) + 1 == static_cast<long long>(t.rows[1].cells.size()) &&
        (first.size() != t.rows[1].cells.size() ||
         std::any_of(first.begin() + 2, first.end(), [&](const std::string& c) { return !lepton::csv::parse_number(c, ignored); }));
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
    t.named = true;
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

// Two label cells name the same class: equal text, or equal numbers ("5" and "5.0").
bool same_label(const std::string& a, const std::string& b) {
  if (a == b) return true;
  double va, vb;
  return lepton::csv::parse_number(a, va) && lepton::csv::parse_number(b, vb) && va == vb;
}

std::string file_name_of(const std::string& file) { return std::filesystem::path(file).filename().string(); }

// How cells are read: what counts as missing, column types, filling. Shared by training and prediction.
struct Reading {
  std::vector<std::string> missing_tokens = lepton::csv::MissingCells::defaults();
  lepton::csv::ColumnOptions columns;
  double scale = 1.0;

  static Reading read(const ConfigObject& cfg) {
    Reading r;
    if (cfg.has("missing")) {
      const json& tokens = cfg.raw("missing");
      if (!tokens.is_array()) throw ConfigError(cfg.path_of("missing"), "expected an array of cells that mean \"no value\"");
      r.missing_tokens.clear();
      for (std::size_t i = 0; i < tokens.size(); ++i)
        r.missing_tokens.push_back(lepton::convert<std::string>(tokens[i], cfg.path_of("missing") + "[" + std::to_string(i) + "]"));
    }
    r.columns.types_path = cfg.path_of("types");
    if (cfg.has("types")) {
      const json& types = cfg.raw("types");
      if (!types.is_object())
        throw ConfigError(r.columns.types_path, "expected an object of column name -> \"numeric\", \"categorical\" or \"drop\"");
      for (const auto& item : types.items()) {
        const std::string at = r.columns.types_path + "." + item.key();
        const auto type = lepton::convert<std::string>(item.value(), at);
        if (type != "numeric" && type != "categorical" && type != "drop")
          throw ConfigError(at, "expected \"numeric\", \"categorical\" or \"drop\", got \"" + type + "\"");
        r.columns.types[item.key()] = type;
      }
    }
    r.columns.impute = cfg.one_of("impute", {"median", "mean"}, std::string("median"));
    r.columns.missing_indicators = cfg.optional<bool>("missing_indicators", false);
    r.scale = cfg.optional<double>("scale", 1.0);
    return r;
  }
};

// Features {N, shape...}: missing cells filled, numbers scaled. `x` is what ColumnPlan::encode made.
at::Tensor finish_features(const lepton::csv::ColumnPlan& plan, const at::Tensor& x, double scale,
                           const std::vector<std::int64_t>& input_shape) {
  auto out = plan.filled(x);
  if (scale != 1.0) {
    const std::vector<bool> scalable = plan.scalable();
    const auto numbers = torch::tensor(std::vector<std::uint8_t>(scalable.begin(), scalable.end())).to(torch::kBool);
    out = torch::where(numbers, out * scale, out);
  }
  std::vector<std::int64_t> shape{x.size(0)};
  shape.insert(shape.end(), input_shape.begin(), input_shape.end());
  return out.reshape(shape).contiguous();
}

class CsvDataset final : public lepton::Dataset {
 public:
  lepton::DataSplits load(const lepton::DatasetRequest& request) const override {
    ConfigObject cfg(request.config, request.path);
    const std::string header = cfg.one_of("header", {"auto", "sklearn", "names", "none"}, std::string("auto"));
    const std::string delimiter = cfg.optional<std::string>("delimiter", ",");
    if (delimiter.size() != 1) throw ConfigError(cfg.path_of("delimiter"), "expected one character, got \"" + delimiter + "\"");
    const bool standardize = cfg.optional<bool>("standardize", false);
    const Reading reading = Reading::read(cfg);
    const lepton::SplitOptions split = lepton::SplitOptions::read(cfg);
    if (request.predict) return load_for_prediction(cfg, request, header, delimiter[0], reading);
    const lepton::data_files::DataFiles sources = lepton::data_files::DataFiles::read(cfg, request.search_dirs);

    const Table t = read_table(sources.train, delimiter[0], header, sources.train_path);
    // Separate files must have the training file's columns.
    auto read_other = [&](const std::string& file, const std::string& path) -> std::optional<Table> {
      if (file.empty()) return std::nullopt;
      Table other = read_table(file, delimiter[0], header, path);
      if (other.names != t.names)
        throw ConfigError(path, file_name_of(file) + " has columns " + json(other.names).dump() + ", but " +
                                    file_name_of(sources.train) + " has " + json(t.names).dump());
      return other;
    };
    const std::optional<Table> valid_t = read_other(sources.valid, sources.valid_path);
    const std::optional<Table> test_t = read_other(sources.test, sources.test_path);
    const std::string file_name = file_name_of(sources.train);

    const std::size_t label_column =
        cfg.has("label") ? column_index(t, cfg.raw("label"), cfg.path_of("label")) : t.names.size() - 1;
    std::set<std::size_t> dropped{label_column};
    if (cfg.has("drop")) {
      const json& drop = cfg.raw("drop");
      if (!drop.is_array()) throw ConfigError(cfg.path_of("drop"), "expected an array of column names or indices");
      for (std::size_t i = 0; i < drop.size(); ++i)
        dropped.insert(column_index(t, drop[i], cfg.path_of("drop") + "[" + std::to_string(i) + "]"));
    }
    std::vector<std::size_t> candidates;
    for (std::size_t c = 0; c < t.names.size(); ++c)
      if (!dropped.count(c)) candidates.push_back(c);
    std::vector<const std::vector<lepton::csv::Row>*> tables{&t.rows};
    for (const auto* other : {&valid_t, &test_t})
      if (*other) tables.push_back(&(*other)->rows);
    const lepton::csv::MissingCells missing(reading.missing_tokens);
    lepton::csv::ColumnPlan plan = lepton::csv::plan_columns(t.names, candidates, tables, missing, reading.columns);
    if (plan.columns.empty())
      throw ConfigError(request.path, "no feature columns left after the label, dropped and left-out ones" +
                                          (plan.notices.empty() ? std::string() : " (" + plan.notices[0] + ")"));
    const std::vector<std::int64_t> input_shape = read_shape(cfg, static_cast<std::size_t>(plan.width()));
    cfg.finish();

    if (t.sklearn_samples >= 0 && static_cast<std::int64_t>(t.rows.size()) != t.sklearn_samples)
      throw ConfigError(sources.train_path, file_name + " declares " + std::to_string(t.sklearn_samples) +
                                                " samples in its header but holds " + std::to_string(t.rows.size()) +
                                                "; the file is truncated or wrong");
    if (t.sklearn_features >= 0 && t.sklearn_features != static_cast<std::int64_t>(t.names.size() - 1))
      throw ConfigError(sources.train_path, file_name + " declares " + std::to_string(t.sklearn_features) +
                                                " features but rows hold " + std::to_string(t.names.size() - 1));

    // Labels: integers keep their numeric order, other values are sorted as text.
    std::vector<std::string> raw_labels;
    bool numeric_labels = true;
    for (std::size_t k = 0; k < tables.size(); ++k)
      for (const auto& row : *tables[k]) {
        raw_labels.push_back(row.cells[label_column]);
        double v;
        if (missing(raw_labels.back()))
          throw ConfigError(k == 0 ? sources.train_path : k == 1 && valid_t ? sources.valid_path : sources.test_path,
                            "line " + std::to_string(row.line) + ": the label (column \"" + t.names[label_column] +
                                "\") is missing; drop such rows or fill them in");
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

    // Every file's rows, one after another (train, then the given valid and test files).
    std::vector<at::Tensor> parts_x;
    for (const auto* rows : tables) parts_x.push_back(plan.encode(*rows, missing, file_name, sources.train_path));
    const auto x = torch::cat(parts_x);
    const auto n = x.size(0), d = x.size(1);
    std::vector<std::int64_t> labels(static_cast<std::size_t>(n));
    for (std::size_t r = 0; r < labels.size(); ++r) labels[r] = class_index.at(raw_labels[r]);
    const auto y = torch::tensor(labels, torch::kLong);

    const auto n_rows = [](const std::optional<Table>& table) { return table ? static_cast<std::int64_t>(table->rows.size()) : 0; };
    const auto parts = lepton::data_files::split_files(labels, static_cast<std::int64_t>(classes.size()), split, sources,
                                                       static_cast<std::int64_t>(t.rows.size()), n_rows(valid_t),
                                                       n_rows(test_t));
    const std::vector<std::int64_t> flat{d};
    lepton::DataSplits out;
    out.train = lepton::take_rows(x, y, parts[0], flat);
    out.valid = lepton::take_rows(x, y, parts[1], flat);
    out.test = lepton::take_rows(x, y, parts[2], flat);
    const auto missing_per_feature = torch::isnan(x).sum(0).contiguous();
    const std::int64_t missing_cells = missing_per_feature.sum().item<std::int64_t>();
    json described = json::array();  // what `lepton data inspect` shows per column
    for (std::size_t c = 0; c < plan.columns.size(); ++c) {
      const auto& column = plan.columns[c];
      json d = {{"name", column.name},
                {"type", column.type == lepton::csv::ColumnType::kCategorical ? "categorical" : "numeric"},
                {"missing", missing_per_feature[static_cast<std::int64_t>(c)].item<std::int64_t>()}};
      if (column.type == lepton::csv::ColumnType::kCategorical) {
        d["categories"] = column.categories;
      } else if (d["missing"] < n) {
        const auto values = x.select(1, static_cast<std::int64_t>(c));
        const auto present = values.masked_select(~torch::isnan(values));
        d["min"] = present.min().item<double>();
        d["max"] = present.max().item<double>();
      }
      described.push_back(std::move(d));
    }
    plan.fit_fills(out.train.x, reading.columns);
    for (auto* s : {&out.train, &out.valid, &out.test})
      if (s->size() > 0) s->x = finish_features(plan, s->x, reading.scale, input_shape);
    out.fitted = {{"columns", t.names.size()}, {"label_column", label_column}, {"plan", plan.to_json()},
                  {"labels", classes},         {"class_names", class_names},  {"missing", reading.missing_tokens},
                  {"scale", reading.scale}};
    if (t.named) out.fitted["header"] = t.names;  // a prediction finds columns by these names
    out.categorical = plan.categorical();
    if (standardize) out.fitted["standardization"] = lepton::standardize(out, plan.scalable()).to_json();
    out.input_shape = input_shape;
    out.class_names = class_names;
    out.feature_names = plan.feature_names();
    out.info = {{"file", sources.describe()},          {"rows", n},
                {"features", d},          {"categorical", out.categorical.size()},
                {"missing_values", missing_cells}, {"classes", class_names.size()},
                {"train", out.train.size()}, {"valid", out.valid.size()},
                {"test", out.test.size()}};
    out.info["columns"] = std::move(described);
    out.info["label"] = t.names[label_column];
    if (!plan.notices.empty()) out.info["notices"] = plan.notices;
    return out;
  }

 private:
  // Reads a file laid out like the training one, with or without its label column, into `test`.
  static lepton::DataSplits load_for_prediction(const ConfigObject& cfg, const lepton::DatasetRequest& request,
                                                const std::string& header, char delimiter, const Reading& reading) {
    cfg.allow({"path", "label", "drop", "shape", "split", "types"});
    const json& fitted = request.fitted;
    const std::string fitted_path = "model.json: dataset.fitted";
    if (!fitted.is_object() || !fitted.contains("columns") || !fitted.contains("labels"))
      throw ConfigError(fitted_path, "expected the csv plugin's fitted state (columns, label_column, plan, labels)");
    const std::string file = lepton::resolve_data_file(request.file, request.search_dirs, "--data");
    const Table t = read_table(file, delimiter, header, "--data");
    const auto columns = fitted.at("columns").get<std::size_t>();
    const auto label_column = fitted.at("label_column").get<std::size_t>();
    const auto labels = fitted.at("labels").get<std::vector<std::string>>();
    const std::string file_name = file_name_of(file);
    // Models saved before the column plan read numbers only, and no cell could be missing.
    lepton::csv::ColumnPlan plan;
    if (fitted.contains("plan")) {
      plan = lepton::csv::ColumnPlan::from_json(fitted.at("plan"), fitted_path + ".plan");
    } else {
      for (const auto c : fitted.at("features").get<std::vector<std::size_t>>()) {
        plan.columns.emplace_back();
        plan.columns.back().name = "x" + std::to_string(c);
        plan.columns.back().source = c;
      }
    }
    const lepton::csv::MissingCells missing(fitted.contains("plan") ? fitted.value("missing", reading.missing_tokens)
                                                                    : std::vector<std::string>{});
    // Columns are found by name when both files name them, else by position: a file with the
    // label has the training file's columns, one without has the others shifted past it.
    const std::vector<std::string> trained = fitted.value("header", std::vector<std::string>{});
    const bool by_name = t.named && trained.size() == columns;
    std::optional<std::size_t> label_at;  // the label's column in this file, when it has one
    if (by_name) {
      for (auto& c : plan.columns) {
        const auto it = std::find(t.names.begin(), t.names.end(), trained[c.source]);
        if (it == t.names.end())
          throw ConfigError("--data", file_name + " has no column \"" + trained[c.source] + "\", which the model reads");
        c.source = static_cast<std::size_t>(it - t.names.begin());
      }
      if (const auto it = std::find(t.names.begin(), t.names.end(), trained[label_column]); it != t.names.end())
        label_at = static_cast<std::size_t>(it - t.names.begin());
    } else if (t.names.size() == columns) {
      label_at = label_column;
    } else if (t.names.size() + 1 == columns) {
      for (auto& c : plan.columns) c.source -= c.source > label_column ? 1 : 0;
    } else {
      throw ConfigError("--data", file_name + " has " + std::to_string(t.names.size()) + " columns; the model was trained on " +
                                      std::to_string(columns) + " (with the label) or takes " + std::to_string(columns - 1) +
                                      " (without it)");
    }
    const std::vector<std::int64_t> input_shape = read_shape(cfg, static_cast<std::size_t>(plan.width()));
    std::int64_t unseen = 0;
    const auto x = plan.encode(t.rows, missing, file_name, "--data", &unseen);
    lepton::DataSplits out;
    out.test.x = finish_features(plan, x, fitted.value("scale", reading.scale), input_shape);
    if (label_at) {
      out.test.y = torch::full({static_cast<std::int64_t>(t.rows.size())}, -1, torch::kLong);
      auto* yp = out.test.y.data_ptr<std::int64_t>();
      for (std::size_t r = 0; r < t.rows.size(); ++r)
        for (std::size_t k = 0; k < labels.size(); ++k)
          if (same_label(t.rows[r].cells[*label_at], labels[k])) {
            yp[r] = static_cast<std::int64_t>(k);
            break;
          }
    }
    if (fitted.contains("standardization"))
      out.test.x = lepton::Standardization::from_json(fitted.at("standardization"), fitted_path + ".standardization")
                       .apply(out.test.x);
    out.input_shape = input_shape;
    out.class_names = fitted.value("class_names", labels);
    out.categorical = plan.categorical();
    out.feature_names = plan.feature_names();
    out.fitted = fitted;
    out.info = {{"file", file}, {"rows", t.rows.size()}, {"labels", label_at.has_value()},
                {"missing_values", torch::isnan(x).sum().item<std::int64_t>()}, {"unseen_categories", unseen}};
    if (unseen > 0)
      out.info["notices"] = {std::to_string(unseen) + " cell(s) hold categories the model never saw: read as missing, "
                             "filled with the training split's most frequent category"};
    return out;
  }
};

}  // namespace

LEPTON_PLUGIN() { registrar.add_dataset(std::make_unique<CsvDataset>()); }
