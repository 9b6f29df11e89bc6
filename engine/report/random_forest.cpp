// Regression trees grown on bootstrap samples; each split tries a random subset of features and
// keeps the threshold with the largest drop in squared error (the midpoint between two values).
#include "report/random_forest.hpp"

#include <tbb/parallel_for.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <utility>

namespace lepton::engine {

// Grows trees on presorted columns: every feature's draws are sorted once per tree, and each split
// stably partitions those orders, so a node costs O(draws x features) instead of a sort per feature.
class RandomForest::Grower {
 public:
  Grower(const std::vector<std::vector<double>>& x, const std::vector<double>& y, const ForestOptions& options)
      : x_(x), y_(y), options_(options), features_(x.empty() ? 0 : x.front().size()) {
    tried_ = std::clamp<std::size_t>(static_cast<std::size_t>(std::lround(options.feature_fraction * features_)), 1,
                                     std::max<std::size_t>(features_, 1));
  }

  Tree grow_tree(Rng& rng) const {
    const std::size_t n = y_.size();
    Tree tree;
    Growth g;
    g.row.resize(n);  // the data row of each bootstrap draw
    std::vector<char> drawn(n, 0);
    for (auto& r : g.row) {
      r = static_cast<std::size_t>(uniform_int(rng, 0, static_cast<std::int64_t>(n) - 1));
      drawn[r] = 1;
    }
    for (std::size_t i = 0; i < n; ++i)
      if (!drawn[i]) tree.out_of_bag.push_back(i);
    g.order.assign(features_, std::vector<std::uint32_t>(n));
    for (std::size_t f = 0; f < features_; ++f) {
      auto& order = g.order[f];
      std::iota(order.begin(), order.end(), 0U);
      std::sort(order.begin(), order.end(), [&](std::uint32_t a, std::uint32_t b) { return value(g, a, f) < value(g, b, f); });
    }
    g.left.resize(n);
    g.scratch.resize(n);
    grow(tree, g, 0, n, 0, rng);
    return tree;
  }

 private:
  struct Growth {
    std::vector<std::size_t> row;
    std::vector<std::vector<std::uint32_t>> order;  // per feature: draws sorted by that feature
    std::vector<char> left;                         // per draw: goes to the left child
    std::vector<std::uint32_t> scratch;
  };

  double value(const Growth& g, std::uint32_t draw, std::size_t feature) const { return x_[g.row[draw]][feature]; }
  double target(const Growth& g, std::uint32_t draw) const { return y_[g.row[draw]]; }

  // Makes the node for the draws in [begin, end) of every order; returns its index.
  int grow(Tree& tree, Growth& g, std::size_t begin, std::size_t end, int depth, Rng& rng) const {
    const std::size_t n = end - begin;
    double sum = 0, sum_sq = 0;
    for (std::size_t i = begin; i < end; ++i) {
      const double v = target(g, g.order[0][i]);
      sum += v;
      sum_sq += v * v;
    }
    const int index = static_cast<int>(tree.nodes.size());
    tree.nodes.push_back(Node{-1, 0.0, sum / static_cast<double>(n), -1, -1});
    const auto min_leaf = static_cast<std::size_t>(std::max(options_.min_leaf, 1));
    if (n < 2 * min_leaf || depth >= options_.max_depth || sum_sq - sum * sum / n <= 1e-12 * std::max(1.0, sum_sq))
      return index;

    // Partial Fisher-Yates: the first `tried_` entries become a random subset of the features.
    std::vector<std::size_t> features(features_);
    std::iota(features.begin(), features.end(), 0);
    for (std::size_t k = 0; k < tried_; ++k)
      std::swap(features[k], features[k + static_cast<std::size_t>(uniform_int(rng, 0, static_cast<std::int64_t>(features_ - k) - 1))]);

    int best_feature = -1;
    std::size_t best_left = 0;
    double best_score = sum * sum / n + 1e-12 * std::abs(sum * sum / n), best_threshold = 0;
    for (std::size_t k = 0; k < tried_; ++k) {
      const std::size_t f = features[k];
      const auto& order = g.order[f];
      double left = 0;
      for (std::size_t i = begin; i + 1 < end; ++i) {
        left += target(g, order[i]);
        const std::size_t n_left = i + 1 - begin, n_right = n - n_left;
        const double here = value(g, order[i], f), next = value(g, order[i + 1], f);
        if (n_left < min_leaf || n_right < min_leaf || here == next) continue;
        // Maximising sum_L^2/n_L + sum_R^2/n_R minimises the children's squared error.
        const double right = sum - left;
        const double score = left * left / n_left + right * right / n_right;
        if (score > best_score) {
          best_score = score;
          best_feature = static_cast<int>(f);
          best_left = n_left;
          best_threshold = 0.5 * (here + next);
        }
      }
    }
    if (best_feature < 0) return index;

    const auto& chosen = g.order[static_cast<std::size_t>(best_feature)];
    for (std::size_t i = begin; i < end; ++i) g.left[chosen[i]] = i < begin + best_left;
    for (auto& order : g.order) {  // stable: each side stays sorted
      auto out = g.scratch.begin();
      for (std::size_t i = begin; i < end; ++i)
        if (g.left[order[i]]) *out++ = order[i];
      for (std::size_t i = begin; i < end; ++i)
        if (!g.left[order[i]]) *out++ = order[i];
      std::copy(g.scratch.begin(), out, order.begin() + static_cast<std::ptrdiff_t>(begin));
    }
    const std::size_t split = begin + best_left;
    const int left = grow(tree, g, begin, split, depth + 1, rng);
    const int right = grow(tree, g, split, end, depth + 1, rng);
    Node& node = tree.nodes[static_cast<std::size_t>(index)];
    node.feature = best_feature;
    node.threshold = best_threshold;
    node.left = left;
    node.right = right;
    return index;
  }

  const std::vector<std::vector<double>>& x_;
  const std::vector<double>& y_;
  const ForestOptions& options_;
  std::size_t features_, tried_ = 1;
};

RandomForest::RandomForest(const std::vector<std::vector<double>>& x, const std::vector<double>& y,
                           const ForestOptions& options) {
  if (y.empty()) return;
  const Grower grower(x, y, options);
  // Each tree has its own seed, so the forest is the same whatever the threads.
  trees_.resize(static_cast<std::size_t>(options.trees));
  tbb::parallel_for(std::size_t{0}, trees_.size(), [&](std::size_t t) {
    Rng rng(derive_seed(options.seed, t));
    trees_[t] = grower.grow_tree(rng);
  });
}

double RandomForest::predict(std::size_t tree, const std::vector<double>& row) const {
  const auto& nodes = trees_[tree].nodes;
  std::size_t i = 0;
  while (nodes[i].feature >= 0)
    i = static_cast<std::size_t>(row[static_cast<std::size_t>(nodes[i].feature)] <= nodes[i].threshold ? nodes[i].left
                                                                                                          : nodes[i].right);
  return nodes[i].value;
}

}  // namespace lepton::engine
