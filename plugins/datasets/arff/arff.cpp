// The ARFF dataset plugin: Weka's typed format, nominal attributes declared categorical (or encoded here),
// missing values imputed from the training split, stratified seeded splits; in prediction mode it
// reads a new file with the same attributes and replays what training fitted.
#include "arff_reader.hpp"
#include "../csv/data_files.hpp"

#include <lepton/lepton.hpp>

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>
#include <tuple>

namespace {

using lepton::ConfigError;
using lepton::ConfigObject;
using lepton::json;
using lepton::arff::Attribute;

std::optional<std::size_t> find_attribute(const lepton::arff::File& file, const std::string& name) {
  for (std::size_t i = 0; i < file.attributes.size(); ++i)
    if (file.attributes[i].name == name) return i;
  return std::nullopt;
}

std::size_t attribute_index(const lepton::arff::File& file, const std::string& name, const std::string& path) {
  if (const auto found = find_attribute(file, name)) return *found;
  std::vector<std::string> names;
  for (const auto& a : file.attributes) names.push_back(a.name);
  throw lepton::unknown_name_error(path, "attribute", name, names);
}

lepton::arff::File read(const std::string& file_path, const std::string& path) {
  lepton::arff::File file;
  try {
    file = lepton::arff::read_file(file_path);
  } catch (const std::exception& e) {
    throw ConfigError(path, e.what());
  }
  if (file.rows.empty()) throw ConfigError(path, file_path + " has no data rows");
  return file;
}

// One input column: where it comes from and how it is encoded.
struct Column {
  std::string name;
  std::size_t attribute;
  int nominal_value = -1;  // one-hot: the value this column flags; -1: numeric or ordinal
  bool numeric_scale = true;  // standardized when asked (one-hot columns and engine-encoded indices stay)
};

// The dataset's options and the input columns they make of a file's attributes.
struct Layout {
  // "engine": nominal features stay category indices, declared categorical, and the trial's
  // `encoding` step encodes them, so the encoding can be searched; "onehot" and "ordinal" fix it here.
  std::string encoding;
  bool standardize = false;
  std::string label_name;  // empty: the last attribute
  std::vector<std::string> dropped_names;
  std::string label_path, drop_path;

  static Layout read(ConfigObject& cfg) {
    Layout l;
    l.encoding = cfg.one_of("encoding", {"engine", "onehot", "ordinal"}, std::string("engine"));
    l.standardize = cfg.optional<bool>("standardize", false);
    l.label_path = cfg.has("label") ? cfg.path_of("label") : cfg.path();
    if (cfg.has("label")) l.label_name = cfg.required<std::string>("label");
    l.drop_path = cfg.path_of("drop");
    if (cfg.has("drop")) {
      const json& drop = cfg.raw("drop");
      if (!drop.is_array()) throw ConfigError(l.drop_path, "expected an array of attribute names");
      for (std::size_t i = 0; i < drop.size(); ++i)
        l.dropped_names.push_back(lepton::convert<std::string>(drop[i], l.drop_path + "[" + std::to_string(i) + "]"));
    }
    return l;
  }

  // The label attribute of a training file: the one named, else the last.
  std::size_t label_of(const lepton::arff::File& file) const {
    return label_name.empty() ? file.attributes.size() - 1 : attribute_index(file, label_name, label_path);
  }

  std::vector<Column> columns(const lepton::arff::File& file, std::optional<std::size_t> label,
                              const std::string& path) const {
    std::set<std::size_t> dropped;
    if (label) dropped.insert(*label);
    for (std::size_t i = 0; i < dropped_names.size(); ++i)
      if (const auto found = find_attribute(file, dropped_names[i])) dropped.insert(*found);
    std::vector<Column> out;
    for (std::size_t a = 0; a < file.attributes.size(); ++a) {
      if (dropped.count(a)) continue;
      const Attribute& attribute = file.attributes[a];
      if (attribute.type == Attribute::Type::kString || attribute.type == Attribute::Type::kDate)
        throw ConfigError(path, "attribute \"" + attribute.name + "\" is a " +
                                    (attribute.type == Attribute::Type::kString ? "string" : "date") +
                                    "; drop it with \"drop\": [\"" + attribute.name + "\"]");
      const bool nominal = attribute.type == Attribute::Type::kNominal;
      if (nominal && encoding == "onehot") {
        for (std::size_t v = 0; v < attribute.values.size(); ++v)
          out.push_back({attribute.name + "=" + attribute.values[v], a, static_cast<int>(v), false});
      } else {
        out.push_back({attribute.name, a, -1, !(nominal && encoding == "engine")});
      }
    }
    if (out.empty()) throw ConfigError(path, "no feature attributes left after the label and dropped ones");
    return out;
  }
};

// The rows of `file` as features {N, columns} (NaN where missing) and labels (-1 where missing,
// allowed only when `labels_optional`; undefined without a label attribute).
struct Rows {
  at::Tensor x, y;
};

Rows encode_rows(const lepton::arff::File& file, const std::vector<Column>& columns, std::optional<std::size_t> label,
                 bool labels_optional, const std::string& file_name, const std::string& path) {
  const auto n = static_cast<std::int64_t>(file.rows.size());
  const auto d = static_cast<std::int64_t>(columns.size());
  Rows out;
  out.x = torch::empty({n, d}, torch::kFloat32);
  float* xp = out.x.data_ptr<float>();
  std::int64_t* yp = nullptr;
  if (label) {
    out.y = torch::empty({n}, torch::kLong);
    yp = out.y.data_ptr<std::int64_t>();
  }
  auto nominal_index = [&](const Attribute& attribute, const std::string& value, std::size_t line) {
    const auto it = std::find(attribute.values.begin(), attribute.values.end(), value);
    if (it == attribute.values.end())
      throw ConfigError(path, file_name + ":" + std::to_string(line) + ": \"" + value +
                                  "\" is not a declared value of attribute \"" + attribute.name + "\"");
    return static_cast<std::int64_t>(it - attribute.values.begin());
  };
  for (std::int64_t r = 0; r < n; ++r) {
    const auto& row = file.rows[static_cast<std::size_t>(r)];
    if (label) {
      const auto& label_cell = row.cells[*label];
      if (!label_cell && !labels_optional)
        throw ConfigError(path, file_name + ":" + std::to_string(row.line) + ": the label is missing");
      yp[r] = label_cell ? nominal_index(file.attributes[*label], *label_cell, row.line) : -1;
    }
    for (std::int64_t c = 0; c < d; ++c) {
      const Column& column = columns[static_cast<std::size_t>(c)];
      const Attribute& attribute = file.attributes[column.attribute];
      const auto& cell = row.cells[column.attribute];
      float value = std::nanf("");  // missing: imputed from the training split
      if (cell && attribute.type == Attribute::Type::kNominal) {
        const auto index = nominal_index(attribute, *cell, row.line);
        value = column.nominal_value >= 0 ? (index == column.nominal_value ? 1.0f : 0.0f) : static_cast<float>(index);
      } else if (cell) {
        try {
          std::size_t used = 0;
          value = std::stof(*cell, &used);
          if (used != cell->size()) throw std::invalid_argument(*cell);
        } catch (const std::exception&) {
          throw ConfigError(path, file_name + ":" + std::to_string(row.line) + ", attribute \"" + attribute.name +
                                      "\": not a number: \"" + *cell + "\"");
        }
      } else if (column.nominal_value >= 0) {
        value = 0.0f;  // a missing nominal value flags none of its columns
      }
      xp[r * d + c] = value;
    }
  }
  return out;
}

// What a prediction must match: each feature column's name and, for nominal attributes, the
// declared values in order (the indices depend on it), plus the class names.
json schema_of(const lepton::arff::File& file, const std::vector<Column>& columns) {
  json out = json::array();
  for (const auto& c : columns) {
    const Attribute& a = file.attributes[c.attribute];
    out.push_back({{"name", c.name}, {"values", a.type == Attribute::Type::kNominal ? json(a.values) : json(nullptr)}});
  }
  return out;
}

// The first feature where two schemas (schema_of) differ, said for a user; empty when they agree.
std::string first_difference(const json& found, const json& expected) {
  for (std::size_t i = 0; i < std::max(found.size(), expected.size()); ++i) {
    const json f = i < found.size() ? found[i] : json(nullptr);
    const json e = i < expected.size() ? expected[i] : json(nullptr);
    if (f != e)
      return "feature " + std::to_string(i + 1) + " is " + (f.is_null() ? "missing" : f.dump()) + ", expected " +
             (e.is_null() ? "none" : e.dump());
  }
  return "";
}

at::Tensor fill_missing(const at::Tensor& x, const at::Tensor& fill) {
  return torch::where(torch::isnan(x), fill.expand_as(x), x).contiguous();
}

class ArffDataset final : public lepton::Dataset {
 public:
  lepton::DataSplits load(const lepton::DatasetRequest& request) const override {
    ConfigObject cfg(request.config, request.path);
    Layout layout = Layout::read(cfg);
    const lepton::SplitOptions split = lepton::SplitOptions::read(cfg);
    if (request.predict) {
      cfg.allow({"path"});
      cfg.finish();
      return predict(layout, request);
    }
    const auto files = lepton::data_files::DataFiles::read(cfg, request.search_dirs);
    cfg.finish();
    const std::string path_key = files.train_path;

    const lepton::arff::File file = read(files.train, path_key);
    const std::size_t label = layout.label_of(file);
    if (file.attributes[label].type != Attribute::Type::kNominal)
      throw ConfigError(layout.label_path, "the label attribute \"" + file.attributes[label].name +
                                               "\" must be nominal (a class); name another with \"label\"");
    for (std::size_t i = 0; i < layout.dropped_names.size(); ++i)
      attribute_index(file, layout.dropped_names[i], layout.drop_path + "[" + std::to_string(i) + "]");
    const std::vector<Column> columns = layout.columns(file, label, request.path);

    const std::string file_name = std::filesystem::path(files.train).filename().string();
    const Attribute& label_attribute = file.attributes[label];
    // The training file's rows, then those of the valid and test files when given: each must declare
    // the training file's attributes and classes.
    std::vector<Rows> read_rows{encode_rows(file, columns, label, false, file_name, path_key)};
    std::int64_t n_valid = 0, n_test = 0;
    for (auto [other_file, other_path, count] :
         {std::tuple{&files.valid, &files.valid_path, &n_valid}, {&files.test, &files.test_path, &n_test}}) {
      if (other_file->empty()) continue;
      const lepton::arff::File other = read(*other_file, *other_path);
      const std::string other_name = std::filesystem::path(*other_file).filename().string();
      const std::size_t other_label = layout.label_of(other);
      const std::vector<Column> other_columns = layout.columns(other, other_label, *other_path);
      const std::string difference = first_difference(schema_of(other, other_columns), schema_of(file, columns));
      if (!difference.empty() || other.attributes[other_label].values != label_attribute.values)
        throw ConfigError(*other_path, other_name + " does not declare the attributes of " + file_name + ": " +
                                           (difference.empty() ? "the classes differ" : difference));
      read_rows.push_back(encode_rows(other, other_columns, other_label, false, other_name, *other_path));
      *count = read_rows.back().x.size(0);
    }
    Rows rows;
    std::vector<at::Tensor> xs, ys;
    for (const auto& r : read_rows) {
      xs.push_back(r.x);
      ys.push_back(r.y);
    }
    rows.x = torch::cat(xs);
    rows.y = torch::cat(ys);
    const auto n = rows.x.size(0), d = rows.x.size(1);
    const auto labels_tensor = rows.y.contiguous();
    const std::vector<std::int64_t> labels(labels_tensor.data_ptr<std::int64_t>(), labels_tensor.data_ptr<std::int64_t>() + n);

    const auto parts = lepton::data_files::split_files(labels, static_cast<std::int64_t>(label_attribute.values.size()),
                                                       split, files, read_rows.front().x.size(0), n_valid, n_test);
    const std::vector<std::int64_t> shape{d};
    lepton::DataSplits out;
    out.train = lepton::take_rows(rows.x, rows.y, parts[0], shape);
    out.valid = lepton::take_rows(rows.x, rows.y, parts[1], shape);
    out.test = lepton::take_rows(rows.x, rows.y, parts[2], shape);
    // Missing numbers take the training split's mean of their column (0 when it has none), missing
    // category indices (engine encoding) its most frequent category.
    auto fill = torch::nanmean(out.train.x, 0).nan_to_num(0.0);
    if (layout.encoding == "engine")
      for (std::int64_t c = 0; c < d; ++c) {
        const Attribute& attribute = file.attributes[columns[static_cast<std::size_t>(c)].attribute];
        if (attribute.type != Attribute::Type::kNominal) continue;
        const auto known = out.train.x.select(1, c);
        const auto present = known.masked_select(~torch::isnan(known));
        fill[c] = present.numel() > 0 ? std::get<0>(torch::mode(present)).item<float>() : 0.0f;
        out.categorical.push_back({c, attribute.values});
      }
    // What `lepton data inspect` shows per feature: its type, missing cells, categories or range.
    const auto missing_per_feature = torch::isnan(rows.x).sum(0);
    json described = json::array();
    for (std::int64_t c = 0; c < d; ++c) {
      const Column& column = columns[static_cast<std::size_t>(c)];
      const Attribute& attribute = file.attributes[column.attribute];
      json f = {{"name", column.name}, {"missing", missing_per_feature[c].item<std::int64_t>()}};
      if (attribute.type == Attribute::Type::kNominal && column.nominal_value < 0) {
        f["type"] = "categorical";
        f["categories"] = attribute.values;
      } else {
        f["type"] = column.nominal_value >= 0 ? "one-hot" : "numeric";
        const auto values = rows.x.select(1, c);
        const auto present = values.masked_select(~torch::isnan(values));
        if (present.numel() > 0) {
          f["min"] = present.min().item<double>();
          f["max"] = present.max().item<double>();
        }
      }
      described.push_back(std::move(f));
    }
    std::int64_t missing = 0;
    for (auto* s : {&out.train, &out.valid, &out.test}) {
      if (s->size() == 0) continue;
      missing += torch::isnan(s->x).sum().item<std::int64_t>();
      s->x = fill_missing(s->x, fill);
    }
    out.fitted = {{"features", schema_of(file, columns)},
                  {"label", label_attribute.name},
                  {"classes", label_attribute.values},
                  {"fill", std::vector<float>(fill.data_ptr<float>(), fill.data_ptr<float>() + d)}};
    if (layout.standardize) {
      std::vector<bool> scaled;
      for (const auto& c : columns) scaled.push_back(c.numeric_scale);
      out.fitted["standardization"] = lepton::standardize(out, scaled).to_json();
    }
    out.input_shape = shape;
    out.class_names = label_attribute.values;
    for (const auto& c : columns) out.feature_names.push_back(c.name);
    out.info = {{"file", files.describe()},         {"relation", file.relation},   {"rows", n},
                {"attributes", file.attributes.size() - 1 - layout.dropped_names.size()},
                {"features", d},             {"encoding", layout.encoding}, {"missing_values", missing},
                {"classes", out.class_names.size()},
                {"train", out.train.size()}, {"valid", out.valid.size()},   {"test", out.test.size()}};
    out.info["columns"] = std::move(described);
    out.info["label"] = label_attribute.name;
    return out;
  }

 private:
  // Every row of request.file into `test`, read with the training layout and its fitted state.
  static lepton::DataSplits predict(const Layout& layout, const lepton::DatasetRequest& request) {
    const json& fitted = request.fitted;
    const std::string fitted_path = "model.json: dataset.fitted";
    if (!fitted.is_object() || !fitted.contains("features") || !fitted.contains("classes") || !fitted.contains("fill"))
      throw ConfigError(fitted_path, "expected the arff plugin's fitted state (features, classes, fill); export the model again");
    const std::string file_path = lepton::resolve_data_file(request.file, request.search_dirs, "--data");
    const std::string file_name = std::filesystem::path(file_path).filename().string();
    const lepton::arff::File file = read(file_path, "--data");
    // The training label's attribute, when this file has it (unlabelled files may leave it out).
    const std::optional<std::size_t> label = find_attribute(file, fitted.value("label", layout.label_name));
    const std::optional<std::size_t> usable_label =
        label && file.attributes[*label].type == Attribute::Type::kNominal ? label : std::nullopt;
    const std::vector<Column> columns = layout.columns(file, usable_label, "--data");
    const json schema = schema_of(file, columns);
    if (const std::string difference = first_difference(schema, fitted["features"]); !difference.empty())
      throw ConfigError("--data", file_name + " does not have the attributes the model was trained on: " + difference);
    const auto classes = fitted["classes"].get<std::vector<std::string>>();
    if (usable_label && file.attributes[*usable_label].values != classes)
      throw ConfigError("--data", file_name + ": the label attribute declares other classes than the model's (" +
                                      json(classes).dump() + ")");
    const Rows rows = encode_rows(file, columns, usable_label, true, file_name, "--data");
    const auto fill = torch::tensor(fitted["fill"].get<std::vector<float>>(), torch::kFloat32);
    lepton::DataSplits out;
    out.test.x = fill_missing(rows.x, fill);
    out.test.y = rows.y;
    if (fitted.contains("standardization"))
      out.test.x = lepton::Standardization::from_json(fitted["standardization"], fitted_path + ".standardization")
                       .apply(out.test.x)
                       .contiguous();
    out.input_shape = {rows.x.size(1)};
    out.class_names = classes;
    for (const auto& c : columns) out.feature_names.push_back(c.name);
    if (layout.encoding == "engine")
      for (std::size_t c = 0; c < columns.size(); ++c)
        if (file.attributes[columns[c].attribute].type == Attribute::Type::kNominal)
          out.categorical.push_back({static_cast<std::int64_t>(c), file.attributes[columns[c].attribute].values});
    out.info = {{"file", file_path}, {"rows", rows.x.size(0)}};
    return out;
  }
};

}  // namespace

LEPTON_PLUGIN() { registrar.add_dataset(std::make_unique<ArffDataset>()); }
