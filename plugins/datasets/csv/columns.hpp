// What each column of a table read as text becomes: a number, a category, or nothing. Types are
// inferred the way pandas reads a file (a column whose present cells all parse as numbers is
// numeric), missing cells are recognised from a list, and free-text or ID-like columns are set aside
// with a notice. The plan is saved with a model so a prediction reads new files the same way.
#pragma once

#include "csv_reader.hpp"

#include <lepton/config.hpp>
#include <lepton/dataset.hpp>

#include <torch/torch.h>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace lepton::csv {

/// The cells that mean "no value", compared after trimming spaces and ignoring case.
class MissingCells {
 public:
  explicit MissingCells(std::vector<std::string> tokens);
  static std::vector<std::string> defaults() { return {"", "NA", "N/A", "NaN", "null", "None", "?"}; }
  bool operator()(const std::string& cell) const;
  const std::vector<std::string>& tokens() const { return tokens_; }

 private:
  std::vector<std::string> tokens_;  ///< lower case, trimmed
};

enum class ColumnType { kNumeric, kCategorical };

/// One feature column and how it is read and filled.
struct PlannedColumn {
  std::string name;
  std::size_t source = 0;               ///< the table column it reads
  ColumnType type = ColumnType::kNumeric;
  std::vector<std::string> categories;  ///< kCategorical: the values, in index order
  float fill = 0.0f;                    ///< what a missing cell becomes (fitted on the training split)
  bool indicator = false;               ///< followed by a 0/1 "<name>_missing" feature
};

/// How the user asked for columns to be read.
struct ColumnOptions {
  std::map<std::string, std::string> types;  ///< column name -> "numeric", "categorical" or "drop"
  std::string types_path;
  std::string impute = "median";             ///< numeric fill: "median" or "mean"
  bool missing_indicators = false;
};

/// The feature columns of a table and what was set aside.
struct ColumnPlan {
  std::vector<PlannedColumn> columns;
  std::vector<std::string> notices;  ///< columns dropped as free text or IDs, and why

  /// Features {N, F}: numbers, category indices, then indicators; NaN where missing or unseen.
  at::Tensor encode(const std::vector<Row>& rows, const MissingCells& missing, const std::string& file_name,
                    const std::string& path, std::int64_t* unseen = nullptr) const;
  /// Sets each column's fill from the training rows' features (as encode() made them).
  void fit_fills(const at::Tensor& train_x, const ColumnOptions& options);
  /// Replaces NaN by each column's fill.
  at::Tensor filled(const at::Tensor& x) const;
  std::vector<std::string> feature_names() const;
  /// The categorical features, by position in encode()'s output.
  std::vector<CategoricalColumn> categorical() const;
  /// Which features standardization may touch: numbers, not category indices or indicators.
  std::vector<bool> scalable() const;
  std::int64_t width() const;

  json to_json() const;
  static ColumnPlan from_json(const json& j, const std::string& path);
};

/// Infers each of `sources`' type from `rows` (every cell of a numeric column parses as a number,
/// missing ones aside) and its categories, honouring `options.types`. Columns where almost every
/// value is distinct text (names, ticket numbers), or integers counting up by one (row IDs), are
/// left out with a notice unless `types` names them.
ColumnPlan plan_columns(const std::vector<std::string>& names, const std::vector<std::size_t>& sources,
                        const std::vector<const std::vector<Row>*>& tables, const MissingCells& missing,
                        const ColumnOptions& options);

}  // namespace lepton::csv
