// Parzen-window mixtures on the unit interval and the unit cube, as TPE builds them: one kernel
// per observation plus a wide prior kernel, with Optuna's bandwidth rules.
#pragma once

#include <lepton/random.hpp>

#include <cstdint>
#include <memory>
#include <vector>

namespace lepton::tpe {

/// A mixture density over one group of dimensions (unit-encoded values; a categorical dimension
/// holds (choice + 0.5) / choices).
class Density {
 public:
  virtual ~Density() = default;
  /// One draw: a value per dimension.
  virtual std::vector<double> sample(Rng& rng) const = 0;
  /// The log density (or log probability, for categorical dimensions) at `y`.
  virtual double log_pdf(const std::vector<double>& y) const = 0;
};

/// What a dimension holds.
struct DimensionKind {
  int choices = 0;       ///< categorical: its number of choices; 0 for numbers
  /// Numbers on a uniform grid (integers, stepped floats): the width of one value's cell, and the
  /// kernels' mass over a cell is that value's probability (as Optuna does). 0: continuous.
  double cell = 0;
  /// The narrowest kernel beyond Optuna's clip: one value for log-scaled integers, whose cells are
  /// uneven and whose densities are read at the value itself.
  double min_width = 0;
};

/// Optuna's weights for n observations in trial order: the newest 25 count fully, older ones ramp
/// down linearly to 1/n.
std::vector<double> recency_weights(std::size_t n);

/// One numeric dimension. `values` sorted increasingly, `weights` in the same order. Each kernel
/// is as wide as the larger gap to its neighbours, clipped to [1 / min(100, kernels), 1] (and to
/// kind.min_width). Densities sum only the kernels within reach of the point.
std::unique_ptr<Density> univariate_numeric(const std::vector<double>& values, const std::vector<double>& weights,
                                            const DimensionKind& kind, double prior_weight);

/// One categorical dimension: each observation puts 1 + prior_weight / (n + 1) on its choice and
/// prior_weight / (n + 1) on every choice (Optuna's kernel), the prior is uniform.
std::unique_ptr<Density> univariate_categorical(const std::vector<int>& choices, const std::vector<double>& weights,
                                                int count, double prior_weight);

/// Several dimensions modelled jointly: one product kernel per observation (rows[i] holds its
/// values, one per dimension), numeric bandwidths by Scott's rule (0.2 n^(-1 / (d + 4))).
std::unique_ptr<Density> multivariate(const std::vector<std::vector<double>>& rows, const std::vector<double>& weights,
                                      const std::vector<DimensionKind>& dims, double prior_weight);

}  // namespace lepton::tpe
