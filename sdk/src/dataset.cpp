// What dataset plugins share: data-file resolution and standardization statistics.
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

std::string resolve_data_file(const std::string& file, const std::vector<std::string>& search_dirs,
                              const std::string& path) {
  return resolve_file(file, search_dirs, path, "data file");
}

std::string resolve_file(const std::string& file, const std::vector<std::string>& search_dirs, const std::string& path,
                         const std::string& kind) {
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
  throw ConfigError(path, kind + " \"" + file + "\" not found; looked for " + looked);
}

}  // namespace lepton
