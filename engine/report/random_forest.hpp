// A small regression random forest (Breiman 2001): the surrogate that parameter importances are
// measured on. Bootstrap samples, a random subset of features per split, variance-reduction splits.
#pragma once

#include <lepton/random.hpp>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace lepton::engine {

struct ForestOptions {
  int trees = 64;
  int min_leaf = 3;             ///< fewest samples a leaf may hold
  int max_depth = 24;
  double feature_fraction = 1.0 / 3.0;  ///< features tried per split (at least one)
  std::uint64_t seed = 0;
};

/// Rows of `x` are samples, columns features; y the target. Trains on construction and keeps only
/// the trees.
class RandomForest {
 public:
  RandomForest(const std::vector<std::vector<double>>& x, const std::vector<double>& y, const ForestOptions& options);

  std::size_t tree_count() const noexcept { return trees_.size(); }
  /// One tree's prediction for a row.
  double predict(std::size_t tree, const std::vector<double>& row) const;
  /// The rows that tree `tree` did not see (its out-of-bag sample).
  const std::vector<std::size_t>& out_of_bag(std::size_t tree) const { return trees_[tree].out_of_bag; }

 private:
  struct Node {
    int feature = -1;  ///< -1: a leaf holding `value`
    double threshold = 0, value = 0;
    int left = -1, right = -1;
  };
  struct Tree {
    std::vector<Node> nodes;
    std::vector<std::size_t> out_of_bag;
  };
  class Grower;

  std::vector<Tree> trees_;
};

}  // namespace lepton::engine
