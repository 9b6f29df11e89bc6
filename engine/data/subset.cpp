// Class selection and per-class sampling over in-memory splits.
#include "data/subset.hpp"

#include <lepton/random.hpp>

#include <torch/torch.h>

#include <algorithm>
#include <map>

namespace lepton::engine {

DataSubset DataSubset::parse(const json& value, const std::string& path) {
  ConfigObject cfg(value, path);
  DataSubset out;
  if (cfg.has("classes")) {
    const json& classes = cfg.raw("classes");
    if (!classes.is_array() || classes.empty())
      throw ConfigError(cfg.path_of("classes"), "expected a non-empty array of class names or indices");
    for (std::size_t i = 0; i < classes.size(); ++i) {
      const json& c = classes[i];
      if (!c.is_string() && !c.is_number_integer())
        throw ConfigError(cfg.path_of("classes") + "[" + std::to_string(i) + "]",
                          "expected a class name (string) or index (integer), got " + describe_json(c));
      if (std::count(classes.begin(), classes.end(), c) > 1)
        throw ConfigError(cfg.path_of("classes") + "[" + std::to_string(i) + "]", c.dump() + " is listed twice");
      out.classes.push_back(c);
    }
    if (out.classes.size() < 2) throw ConfigError(cfg.path_of("classes"), "classification needs at least 2 classes");
  }
  if (cfg.has("train_per_class")) out.train_per_class = cfg.integer_in("train_per_class", 1, INT64_MAX, std::nullopt);
  if (cfg.has("valid_per_class")) out.valid_per_class = cfg.integer_in("valid_per_class", 1, INT64_MAX, std::nullopt);
  out.seed = static_cast<std::uint64_t>(cfg.integer_in("seed", 0, INT64_MAX, 0));
  cfg.finish();
  return out;
}

at::Tensor remap_labels(const at::Tensor& labels, const std::vector<std::int64_t>& kept) {
  const std::int64_t top = kept.empty() ? 0 : *std::max_element(kept.begin(), kept.end());
  auto table = torch::full({top + 2}, -1, torch::kLong);  // the last entry maps -1 (unknown) to -1
  for (std::size_t i = 0; i < kept.size(); ++i) table[kept[i]] = static_cast<std::int64_t>(i);
  const auto in_range = (labels >= 0) & (labels <= top);
  const auto index = torch::where(in_range, labels, torch::full_like(labels, top + 1));
  return table.index_select(0, index.reshape({-1})).reshape(labels.sizes());
}

namespace {

// The rows of `split` whose (remapped) label is kept, at most `per_class` of each class, chosen
// with the portable generator; rows keep their order.
Split select_rows(const Split& split, const at::Tensor& labels, std::optional<std::int64_t> per_class,
                  std::uint64_t seed) {
  const auto y = labels.contiguous();
  const auto* yp = y.data_ptr<std::int64_t>();
  std::map<std::int64_t, std::vector<std::int64_t>> by_class;
  for (std::int64_t i = 0; i < y.numel(); ++i)
    if (yp[i] >= 0) by_class[yp[i]].push_back(i);
  std::vector<std::int64_t> rows;
  Rng rng(derive_seed(seed, 0x5ab5e7));
  for (auto& [label, members] : by_class) {
    if (per_class && static_cast<std::int64_t>(members.size()) > *per_class) {
      for (std::size_t i = members.size(); i > 1; --i)
        std::swap(members[i - 1], members[static_cast<std::size_t>(uniform_int(rng, 0, static_cast<std::int64_t>(i) - 1))]);
      members.resize(static_cast<std::size_t>(*per_class));
    }
    rows.insert(rows.end(), members.begin(), members.end());
  }
  std::sort(rows.begin(), rows.end());
  const auto index = torch::tensor(rows, torch::kLong);
  return Split{split.x.index_select(0, index), y.index_select(0, index)};
}

}  // namespace

std::vector<std::int64_t> apply_subset(DataSplits& data, const DataSubset& subset, const std::string& path) {
  std::vector<std::int64_t> kept;
  for (std::size_t i = 0; i < subset.classes.size(); ++i) {
    const json& c = subset.classes[i];
    const std::string where = path + ".classes[" + std::to_string(i) + "]";
    std::int64_t index = -1;
    if (c.is_number_integer()) {
      index = c.get<std::int64_t>();
      if (index < 0 || index >= static_cast<std::int64_t>(data.class_names.size()))
        throw ConfigError(where, "class index " + c.dump() + " is outside the data's " +
                                     std::to_string(data.class_names.size()) + " classes");
    } else {
      const auto it = std::find(data.class_names.begin(), data.class_names.end(), c.get<std::string>());
      if (it == data.class_names.end()) {
        std::string names;
        for (const auto& n : data.class_names) names += (names.empty() ? "" : ", ") + n;
        throw ConfigError(where, "the data has no class " + c.dump() + "; its classes are " + names);
      }
      index = it - data.class_names.begin();
    }
    if (std::find(kept.begin(), kept.end(), index) != kept.end())
      throw ConfigError(where, "class " + c.dump() + " is listed twice (by name and by index)");
    kept.push_back(index);
  }
  if (kept.empty())
    for (std::size_t i = 0; i < data.class_names.size(); ++i) kept.push_back(static_cast<std::int64_t>(i));
  if (subset.empty()) return kept;

  std::vector<std::string> names;
  for (const auto k : kept) names.push_back(data.class_names[static_cast<std::size_t>(k)]);
  struct Part {
    Split* split;
    std::optional<std::int64_t> per_class;
    std::uint64_t stream;
  };
  for (const Part& part : {Part{&data.train, subset.train_per_class, 1}, Part{&data.valid, subset.valid_per_class, 2},
                           Part{&data.test, std::nullopt, 3}}) {
    if (part.split->size() == 0) continue;
    *part.split = select_rows(*part.split, remap_labels(part.split->y, kept), part.per_class,
                              derive_seed(subset.seed, part.stream));
  }
  if (data.train.size() == 0 || data.valid.size() == 0)
    throw ConfigError(path, "the subset leaves the train or valid split empty");
  data.class_names = names;
  data.info["subset"] = {{"classes", names}, {"train", data.train.size()}, {"valid", data.valid.size()},
                         {"test", data.test.size()}};
  return kept;
}

}  // namespace lepton::engine
