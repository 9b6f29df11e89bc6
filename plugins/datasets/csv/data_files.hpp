// The files a table dataset reads: one file that the split divides, or separate train, valid and
// test files (the split then makes only what no file gives). Shared by the csv and arff plugins.
#pragma once

#include <lepton/config.hpp>
#include <lepton/splits.hpp>

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace lepton::data_files {

/// `"path": FILE`, or `"path": {"train": FILE, "valid": FILE, "test": FILE}` (valid and test optional).
struct DataFiles {
  std::string train, valid, test;                 ///< resolved; valid and test empty when not given
  std::string train_path, valid_path, test_path;  ///< their JSON paths, for messages

  static DataFiles read(const ConfigObject& dataset, const std::vector<std::string>& search_dirs);
  bool separate() const { return !valid.empty() || !test.empty(); }
  /// The files' contents for DataSplits::info: the file, or {"train", "valid", "test"}.
  json describe() const;
};

/// Rows of train, valid and test, for rows laid out as the training file's `n_train`, then the valid
/// file's `n_valid`, then the test file's `n_test` (0 for a file not given). Splits that come as files
/// keep all their rows; the split's fractions make the others from the training file's rows.
std::array<std::vector<std::int64_t>, 3> split_files(const std::vector<std::int64_t>& labels, std::int64_t classes,
                                                     const SplitOptions& split, const DataFiles& files,
                                                     std::int64_t n_train, std::int64_t n_valid, std::int64_t n_test);

}  // namespace lepton::data_files
