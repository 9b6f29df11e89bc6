// Data-file resolution shared by dataset plugins.
#include <lepton/dataset.hpp>

#include <filesystem>

namespace lepton {

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
