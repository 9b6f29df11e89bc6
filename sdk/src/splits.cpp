// Seeded, stratified splits and train-only standardization, shared by the dataset plugins.
#include <lepton/random.hpp>
#include <lepton/splits.hpp>

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>

namespace lepton {

SplitOptions SplitOptions::read(const ConfigObject& dataset) {
  SplitOptions out;
  if (!dataset.has("split")) return out;
  ConfigObject split = dataset.object("split");
  out.valid = split.number_in("valid", 0.0, 0.9, 0.2);
  out.test = split.number_in("test", 0.0, 0.9, 0.2);
  out.seed = static_cast<std::uint64_t>(split.integer_in("seed", 0, INT64_MAX, 0));
  out.stratify = split.optional<bool>("stratify", true);
  split.finish();
  if (out.valid + out.test >= 0.95)
    throw ConfigError(split.path(), "valid + test must leave samples to train on; got valid " + std::to_string(out.valid) +
                                        " + test " + std::to_string(out.test));
  if (out.valid <= 0)
    throw ConfigError(split.path_of("valid"), "the search scores trials on the valid split; it needs a fraction > 0");
  return out;
}

std::array<std::vector<std::int64_t>, 3> split_rows(const std::vector<std::int64_t>& labels, std::int64_t classes,
                                                   const SplitOptions& options) {
  std::vector<std::vector<std::int64_t>> groups(options.stratify ? static_cast<std::size_t>(classes) : 1);
  for (std::size_t i = 0; i < labels.size(); ++i)
    groups[options.stratify ? static_cast<std::size_t>(labels[i]) : 0].push_back(static_cast<std::int64_t>(i));
  Rng rng(derive_seed(options.seed, 0x5eed));
  for (auto& group : groups)
    for (std::size_t i = group.size(); i > 1; --i)  // Fisher-Yates with the portable generator
      std::swap(group[i - 1], group[static_cast<std::size_t>(uniform_int(rng, 0, static_cast<std::int64_t>(i) - 1))]);

  auto share = [&](double fraction, const std::vector<std::size_t>& available) {
    std::vector<std::size_t> counts(groups.size());
    std::vector<std::pair<double, std::size_t>> remainders;
    std::size_t total_available = 0, given = 0;
    for (std::size_t g = 0; g < groups.size(); ++g) total_available += available[g];
    const auto target = static_cast<std::size_t>(std::llround(static_cast<double>(labels.size()) * fraction));
    for (std::size_t g = 0; g < groups.size(); ++g) {
      const double exact = static_cast<double>(groups[g].size()) * fraction;
      counts[g] = std::min(available[g], static_cast<std::size_t>(exact));
      given += counts[g];
      remainders.emplace_back(-(exact - std::floor(exact)), g);
    }
    std::sort(remainders.begin(), remainders.end());
    for (std::size_t k = 0; given < std::min(target, total_available) && k < remainders.size() * 2; ++k) {
      const std::size_t g = remainders[k % remainders.size()].second;
      if (counts[g] < available[g]) {
        ++counts[g];
        ++given;
      }
    }
    return counts;
  };
  std::vector<std::size_t> available(groups.size());
  for (std::size_t g = 0; g < groups.size(); ++g) available[g] = groups[g].size();
  const auto n_test = share(options.test, available);
  for (std::size_t g = 0; g < groups.size(); ++g) available[g] -= n_test[g];
  const auto n_valid = share(options.valid, available);
  std::array<std::vector<std::int64_t>, 3> out;
  for (std::size_t g = 0; g < groups.size(); ++g)
    for (std::size_t k = 0; k < groups[g].size(); ++k)
      out[k < n_test[g] ? 2 : k < n_test[g] + n_valid[g] ? 1 : 0].push_back(groups[g][k]);
  for (auto& part : out) std::sort(part.begin(), part.end());
  return out;
}

Split take_rows(const at::Tensor& x, const at::Tensor& y, const std::vector<std::int64_t>& rows,
                const std::vector<std::int64_t>& input_shape) {
  const auto index = torch::tensor(rows, torch::kLong);
  std::vector<std::int64_t> shape{static_cast<std::int64_t>(rows.size())};
  shape.insert(shape.end(), input_shape.begin(), input_shape.end());
  Split split;
  split.x = x.index_select(0, index).reshape(shape);
  split.y = y.index_select(0, index);
  split.index = index;
  return split;
}

Standardization standardize(DataSplits& data, const std::vector<bool>& columns) {
  if (data.train.size() == 0) return {};
  Standardization fitted = Standardization::fit(data.train.x);
  if (!columns.empty()) {
    // Columns left alone get mean 0 and scale 1.
    std::vector<std::uint8_t> keep(columns.begin(), columns.end());
    const auto mask = torch::tensor(keep, torch::kBool);
    fitted.mean = torch::where(mask, fitted.mean, torch::zeros_like(fitted.mean));
    fitted.std = torch::where(mask, fitted.std, torch::ones_like(fitted.std));
  }
  for (auto* split : {&data.train, &data.valid, &data.test}) split->x = fitted.apply(split->x);
  return fitted;
}

}  // namespace lepton
