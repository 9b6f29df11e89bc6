// What dataset plugins share: data-file resolution, seeded stratified splits, standardization.
#include <lepton/dataset.hpp>
#include <lepton/random.hpp>

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

namespace lepton {

Standardization Standardization::fit(const at::Tensor& train) {
  const auto flat = train.reshape({train.size(0), -1}).to(torch::kFloat32);
  Standardization s;
  s.mean = flat.mean(0);
  s.std = flat.std(0, /*unbiased=*/false);
  s.std = torch::where(s.std > 1e-12, s.std, torch::ones_like(s.std));
  return s;
}

at::Tensor Standardization::apply(const at::Tensor& x) const {
  if (x.size(0) == 0) return x;
  return ((x.reshape({x.size(0), -1}) - mean) / std).reshape(x.sizes()).contiguous();
}

json Standardization::to_json() const {
  auto values = [](const at::Tensor& t) {
    const auto c = t.to(torch::kFloat64).contiguous();
    return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
  };
  return {{"mean", values(mean)}, {"std", values(std)}};
}

Standardization Standardization::from_json(const json& value, const std::string& path) {
  ConfigObject cfg(value, path);
  auto read = [&](const std::string& key) {
    const json& list = cfg.raw(key);
    if (!list.is_array() || list.empty())
      throw ConfigError(cfg.path_of(key), "expected a non-empty array of numbers");
    std::vector<float> out;
    for (std::size_t i = 0; i < list.size(); ++i)
      out.push_back(static_cast<float>(convert<double>(list[i], cfg.path_of(key) + "[" + std::to_string(i) + "]")));
    return torch::tensor(out, torch::kFloat32);
  };
  Standardization s;
  s.mean = read("mean");
  s.std = read("std");
  cfg.finish();
  if (s.mean.numel() != s.std.numel())
    throw ConfigError(path, "mean and std have different lengths (" + std::to_string(s.mean.numel()) + " and " +
                                std::to_string(s.std.numel()) + ")");
  return s;
}

std::vector<std::vector<std::int64_t>> split_indices(const std::vector<std::int64_t>& labels, std::int64_t classes,
                                                     double valid, double test, std::uint64_t seed, bool stratify) {
  std::vector<std::vector<std::int64_t>> groups(stratify ? static_cast<std::size_t>(classes) : 1);
  for (std::size_t i = 0; i < labels.size(); ++i)
    groups[stratify ? static_cast<std::size_t>(labels[i]) : 0].push_back(static_cast<std::int64_t>(i));
  Rng rng(derive_seed(seed, 0x5eed));
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
  const auto n_test = share(test, available);
  for (std::size_t g = 0; g < groups.size(); ++g) available[g] -= n_test[g];
  const auto n_valid = share(valid, available);
  std::vector<std::vector<std::int64_t>> out(3);
  for (std::size_t g = 0; g < groups.size(); ++g)
    for (std::size_t k = 0; k < groups[g].size(); ++k)
      out[k < n_test[g] ? 2 : k < n_test[g] + n_valid[g] ? 1 : 0].push_back(groups[g][k]);
  for (auto& part : out) std::sort(part.begin(), part.end());
  return out;
}

std::string resolve_data_file(const std::string& file, const std::vector<std::string>& search_dirs,
                              const std::string& path) {
  namespace fs = std::filesystem;
  if (file.empty()) throw ConfigError(path, "expected a file name, got an empty string");
  const fs::path given(file);
  std::vector<fs::path> tried;
  if (given.is_absolute() || search_dirs.empty()) {
    tried.push_back(fs::absolute(given));
  } else {
    for (const auto& dir : search_dirs) tried.push_back(fs::absolute(fs::path(dir) / given));
  }
  std::string looked;
  for (const auto& candidate : tried) {
    std::error_code ec;
    const auto normal = candidate.lexically_normal();
    if (fs::is_regular_file(normal, ec)) return normal.string();
    if (looked.find(normal.string()) == std::string::npos) looked += (looked.empty() ? "" : ", ") + normal.string();
  }
  throw ConfigError(path, "data file \"" + file + "\" not found; looked for " + looked);
}

}  // namespace lepton
