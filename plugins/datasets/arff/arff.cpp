// The ARFF dataset plugin: Weka's typed format, nominal attributes one-hot (or ordinal) encoded,
// missing values imputed from the training split, stratified seeded splits.
#include "arff_reader.hpp"

#include <lepton/lepton.hpp>

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <set>

namespace {

using lepton::ConfigError;
using lepton::ConfigObject;
using lepton::json;
using lepton::arff::Attribute;

std::size_t attribute_index(const lepton::arff::File& file, const std::string& name, const std::string& path) {
  for (std::size_t i = 0; i < file.attributes.size(); ++i)
    if (file.attributes[i].name == name) return i;
  std::vector<std::string> names;
  for (const auto& a : file.attributes) names.push_back(a.name);
  throw lepton::unknown_name_error(path, "attribute", name, names);
}

// One input column: where it comes from and how it is encoded.
struct Column {
  std::string name;
  std::size_t attribute;
  int nominal_value = -1;  // one-hot: the value this column flags; -1: numeric or ordinal
  bool numeric_scale = true;  // standardized when asked (one-hot columns stay 0/1)
};

class ArffDataset final : public lepton::Dataset {
 public:
  lepton::DataSplits load(const lepton::DatasetRequest& request) const override {
    ConfigObject cfg(request.config, request.path);
    const std::string file_path =
        lepton::resolve_data_file(cfg.required<std::string>("path"), request.search_dirs, cfg.path_of("path"));
    const std::string encoding = cfg.one_of("encoding", {"onehot", "ordinal"}, std::string("onehot"));
    const bool standardize = cfg.optional<bool>("standardize", false);
    const lepton::SplitOptions split = lepton::SplitOptions::read(cfg);
    lepton::arff::File file;
    try {
      file = lepton::arff::read_file(file_path);
    } catch (const std::exception& e) {
      throw ConfigError(cfg.path_of("path"), e.what());
    }
    if (file.rows.empty()) throw ConfigError(cfg.path_of("path"), file_path + " has no data rows");
    const std::size_t label = cfg.has("label") ? attribute_index(file, cfg.required<std::string>("label"), cfg.path_of("label"))
                                               : file.attributes.size() - 1;
    if (file.attributes[label].type != Attribute::Type::kNominal)
      throw ConfigError(cfg.has("label") ? cfg.path_of("label") : request.path,
                        "the label attribute \"" + file.attributes[label].name +
                            "\" must be nominal (a class); name another with \"label\"");
    std::set<std::size_t> dropped{label};
    if (cfg.has("drop")) {
      const json& drop = cfg.raw("drop");
      if (!drop.is_array()) throw ConfigError(cfg.path_of("drop"), "expected an array of attribute names");
      for (std::size_t i = 0; i < drop.size(); ++i) {
        const std::string item_path = cfg.path_of("drop") + "[" + std::to_string(i) + "]";
        dropped.insert(attribute_index(file, lepton::convert<std::string>(drop[i], item_path), item_path));
      }
    }
    cfg.finish();

    std::vector<Column> columns;
    for (std::size_t a = 0; a < file.attributes.size(); ++a) {
      if (dropped.count(a)) continue;
      const Attribute& attribute = file.attributes[a];
      if (attribute.type == Attribute::Type::kString || attribute.type == Attribute::Type::kDate)
        throw ConfigError(request.path, "attribute \"" + attribute.name + "\" is a " +
                                            (attribute.type == Attribute::Type::kString ? "string" : "date") +
                                            "; drop it with \"drop\": [\"" + attribute.name + "\"]");
      if (attribute.type == Attribute::Type::kNominal && encoding == "onehot") {
        for (std::size_t v = 0; v < attribute.values.size(); ++v)
          columns.push_back({attribute.name + "=" + attribute.values[v], a, static_cast<int>(v), false});
      } else {
        columns.push_back({attribute.name, a, -1, true});
      }
    }
    if (columns.empty()) throw ConfigError(request.path, "no feature attributes left after the label and dropped ones");

    const std::string file_name = std::filesystem::path(file_path).filename().string();
    const Attribute& label_attribute = file.attributes[label];
    const auto n = static_cast<std::int64_t>(file.rows.size());
    const auto d = static_cast<std::int64_t>(columns.size());
    auto x = torch::empty({n, d}, torch::kFloat32);
    auto y = torch::empty({n}, torch::kLong);
    float* xp = x.data_ptr<float>();
    std::int64_t* yp = y.data_ptr<std::int64_t>();
    std::vector<std::int64_t> labels(static_cast<std::size_t>(n));
    auto nominal_index = [&](const Attribute& attribute, const std::string& value, std::size_t line) {
      const auto it = std::find(attribute.values.begin(), attribute.values.end(), value);
      if (it == attribute.values.end())
        throw ConfigError(request.path + ".path", file_name + ":" + std::to_string(line) + ": \"" + value +
                                                      "\" is not a declared value of attribute \"" + attribute.name + "\"");
      return static_cast<std::int64_t>(it - attribute.values.begin());
    };
    for (std::int64_t r = 0; r < n; ++r) {
      const auto& row = file.rows[static_cast<std::size_t>(r)];
      const auto& label_cell = row.cells[label];
      if (!label_cell)
        throw ConfigError(request.path + ".path", file_name + ":" + std::to_string(row.line) + ": the label is missing");
      labels[static_cast<std::size_t>(r)] = yp[r] = nominal_index(label_attribute, *label_cell, row.line);
      for (std::int64_t c = 0; c < d; ++c) {
        const Column& column = columns[static_cast<std::size_t>(c)];
        const Attribute& attribute = file.attributes[column.attribute];
        const auto& cell = row.cells[column.attribute];
        float value = std::nanf("");  // missing: imputed below from the training split
        if (cell && attribute.type == Attribute::Type::kNominal) {
          const auto index = nominal_index(attribute, *cell, row.line);
          value = column.nominal_value >= 0 ? (index == column.nominal_value ? 1.0f : 0.0f) : static_cast<float>(index);
        } else if (cell) {
          try {
            std::size_t used = 0;
            value = std::stof(*cell, &used);
            if (used != cell->size()) throw std::invalid_argument(*cell);
          } catch (const std::exception&) {
            throw ConfigError(request.path + ".path", file_name + ":" + std::to_string(row.line) + ", attribute \"" +
                                                          attribute.name + "\": not a number: \"" + *cell + "\"");
          }
        } else if (column.nominal_value >= 0) {
          value = 0.0f;  // a missing nominal value flags none of its columns
        }
        xp[r * d + c] = value;
      }
    }

    const auto parts = lepton::split_rows(labels, static_cast<std::int64_t>(label_attribute.values.size()), split);
    const std::vector<std::int64_t> shape{d};
    lepton::DataSplits out;
    out.train = lepton::take_rows(x, y, parts[0], shape);
    out.valid = lepton::take_rows(x, y, parts[1], shape);
    out.test = lepton::take_rows(x, y, parts[2], shape);
    // Missing numbers take the training split's mean of their column (0 when it has none).
    const auto train_mean = torch::nanmean(out.train.x, 0).nan_to_num(0.0);
    std::int64_t missing = 0;
    for (auto* s : {&out.train, &out.valid, &out.test}) {
      if (s->size() == 0) continue;
      const auto holes = torch::isnan(s->x);
      missing += holes.sum().item<std::int64_t>();
      s->x = torch::where(holes, train_mean.expand_as(s->x), s->x).contiguous();
    }
    if (standardize) {
      std::vector<bool> scaled;
      for (const auto& c : columns) scaled.push_back(c.numeric_scale);
      lepton::standardize(out, scaled);
    }
    out.input_shape = shape;
    out.class_names = label_attribute.values;
    for (const auto& c : columns) out.feature_names.push_back(c.name);
    out.info = {{"file", file_path},         {"relation", file.relation},   {"rows", n},
                {"attributes", file.attributes.size() - dropped.size()},  {"features", d},
                {"encoding", encoding},      {"missing_values", missing},   {"classes", out.class_names.size()},
                {"train", out.train.size()}, {"valid", out.valid.size()},   {"test", out.test.size()}};
    return out;
  }
};

}  // namespace

LEPTON_PLUGIN(dataset, "arff", "1.0.0") { registrar.add_dataset(std::make_unique<ArffDataset>()); }
