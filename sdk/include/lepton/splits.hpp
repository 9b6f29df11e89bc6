// Helpers for dataset plugins: seeded stratified train / valid / test splits and standardization.
#pragma once

#include <lepton/config.hpp>
#include <lepton/dataset.hpp>
#include <lepton/export.hpp>

#include <array>
#include <cstdint>
#include <vector>

namespace lepton {

/// How a data set is divided: `"split": {"valid": 0.2, "test": 0.2, "seed": 0, "stratify": true}`.
struct LEPTON_API SplitOptions {
  double valid = 0.2;   ///< fraction of all samples for validation (> 0: trials are scored there)
  double test = 0.2;    ///< fraction of all samples for the final test
  std::uint64_t seed = 0;
  bool stratify = true;  ///< keep each class's proportion in every split

  /// Reads the "split" object of a dataset section when present (defaults otherwise), with errors
  /// at `<section>.split.<key>`.
  static SplitOptions read(const ConfigObject& dataset);
};

/// Rows of train, valid and test (in that order, each sorted). Classes are shuffled with the seed
/// and shared out in the same proportions; totals are rounded once for the whole data and given
/// out by largest remainder, so 569 x 0.2 gives 114 whatever the classes' sizes.
LEPTON_API std::array<std::vector<std::int64_t>, 3> split_rows(const std::vector<std::int64_t>& labels,
                                                              std::int64_t classes, const SplitOptions& options);

/// The split made of `rows` of all samples `x` {N, F} and labels `y` {N}, with samples reshaped to
/// `input_shape` and Split::index set to `rows`.
LEPTON_API Split take_rows(const at::Tensor& x, const at::Tensor& y, const std::vector<std::int64_t>& rows,
                           const std::vector<std::int64_t>& input_shape);

/// Standardizes features to zero mean and unit variance with statistics of the training split only
/// (held-out splits must not leak into training). `columns` picks the flat feature columns to
/// transform (empty: all); constant columns are left centred. Returns the statistics, for
/// DataSplits::fitted (a prediction replays them).
LEPTON_API Standardization standardize(DataSplits& data, const std::vector<bool>& columns = {});

}  // namespace lepton
