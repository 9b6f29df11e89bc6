// Stratified k-fold: each class is shuffled with the portable generator and dealt round-robin, so
// fold sizes differ by at most one per class.
#include "data/folds.hpp"

#include <lepton/random.hpp>

#include <torch/torch.h>

#include <algorithm>
#include <map>

namespace lepton::engine {

CrossValidation CrossValidation::parse(const json& value, const std::string& path) {
  ConfigObject cfg(value, path);
  CrossValidation out;
  out.folds = static_cast<int>(cfg.integer_in("folds", 2, 100, std::nullopt));
  out.seed = static_cast<std::uint64_t>(cfg.integer_in("seed", 0, INT64_MAX, 0));
  out.refit = cfg.optional<bool>("refit", true);
  cfg.finish();
  return out;
}

std::vector<Fold> stratified_folds(const at::Tensor& labels, int k, std::uint64_t seed, const std::string& path) {
  const auto y = labels.to(torch::kLong).contiguous();
  const auto* yp = y.data_ptr<std::int64_t>();
  std::map<std::int64_t, std::vector<std::int64_t>> by_class;
  for (std::int64_t i = 0; i < y.numel(); ++i) by_class[yp[i]].push_back(i);
  std::vector<std::vector<std::int64_t>> members(static_cast<std::size_t>(k));
  Rng rng(derive_seed(seed, 0xf01d));
  std::size_t next = 0;  // continue the deal across classes so small classes do not all start at fold 0
  for (auto& [label, rows] : by_class) {
    if (static_cast<int>(rows.size()) < k)
      throw ConfigError(path, "class " + std::to_string(label) + " has " + std::to_string(rows.size()) +
                                  " samples in train + valid, fewer than the " + std::to_string(k) +
                                  " folds; use fewer folds");
    for (std::size_t i = rows.size(); i > 1; --i)
      std::swap(rows[i - 1], rows[static_cast<std::size_t>(uniform_int(rng, 0, static_cast<std::int64_t>(i) - 1))]);
    for (const auto row : rows) members[next++ % members.size()].push_back(row);
  }
  std::vector<Fold> folds;
  for (int f = 0; f < k; ++f) {
    std::vector<std::int64_t> train, valid = members[static_cast<std::size_t>(f)];
    for (int g = 0; g < k; ++g)
      if (g != f) train.insert(train.end(), members[static_cast<std::size_t>(g)].begin(), members[static_cast<std::size_t>(g)].end());
    std::sort(train.begin(), train.end());
    std::sort(valid.begin(), valid.end());
    folds.push_back(Fold{torch::tensor(train, torch::kLong), torch::tensor(valid, torch::kLong)});
  }
  return folds;
}

}  // namespace lepton::engine
