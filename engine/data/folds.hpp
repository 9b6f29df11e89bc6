// k-fold cross-validation: stratified, seeded folds over a pool of labelled samples.
#pragma once

#include <lepton/config.hpp>

#include <ATen/core/Tensor.h>

#include <cstdint>
#include <vector>

namespace lepton::engine {

/// The `task.cross_validation` option: `{"folds": 5, "seed": 0, "refit": true}`.
struct CrossValidation {
  int folds = 0;           ///< 0: no cross-validation (train on train, score on valid)
  std::uint64_t seed = 0;  ///< how samples are dealt into folds
  bool refit = true;       ///< after the folds, train once on all of train + valid (scored on test, saved)

  bool enabled() const { return folds > 0; }
  /// Reads the option; throws ConfigError at `path`.
  static CrossValidation parse(const json& value, const std::string& path);
};

/// One fold: the pool rows it trains on and the rows it is scored on.
struct Fold {
  at::Tensor train, valid;  ///< int64 row indices into the pool, sorted
};

/// Deals the rows of `labels` {N} into `k` folds, each class spread as evenly as possible
/// (stratified), shuffled with `seed`. Fold i validates on its rows and trains on all others.
/// Throws ConfigError at `path` when a class has fewer samples than folds.
std::vector<Fold> stratified_folds(const at::Tensor& labels, int k, std::uint64_t seed, const std::string& path);

}  // namespace lepton::engine
