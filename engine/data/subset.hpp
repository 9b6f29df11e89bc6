// A dataset's `subset` option, applied by the engine to any dataset plugin's output: keep some
// classes (a new label set for transfer learning) and few training samples per class (few-shot).
#pragma once

#include <lepton/config.hpp>
#include <lepton/dataset.hpp>

#include <cstdint>
#include <optional>
#include <vector>

namespace lepton::engine {

/// `"subset": {"classes": ["5", "6", 7], "train_per_class": 10, "valid_per_class": 50, "seed": 0}`.
/// Classes are named by the dataset's class names (strings) or indices (integers); the model's
/// classes follow the order given.
struct DataSubset {
  std::vector<json> classes;                       ///< empty: every class
  std::optional<std::int64_t> train_per_class;     ///< at most this many training samples per class
  std::optional<std::int64_t> valid_per_class;     ///< same for the valid split
  std::uint64_t seed = 0;                          ///< which samples are kept

  bool empty() const { return classes.empty() && !train_per_class && !valid_per_class; }
  /// Reads the option; throws ConfigError at `path`.
  static DataSubset parse(const json& value, const std::string& path);
};

/// Applies `subset` to `data` in place; returns the dataset class index of each kept class, in the
/// model's order (every class when `subset.classes` is empty). Throws ConfigError at `path` for a
/// class the data does not have, or a subset that leaves a split empty.
std::vector<std::int64_t> apply_subset(DataSplits& data, const DataSubset& subset, const std::string& path);

/// Labels in the dataset's class indices mapped to the model's: kept[i] -> i, anything else -> -1.
at::Tensor remap_labels(const at::Tensor& labels, const std::vector<std::int64_t>& kept);

}  // namespace lepton::engine
