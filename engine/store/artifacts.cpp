// Artifact locations derived from the storage URL.
#include "store/artifacts.hpp"

#include "store/storage_url.hpp"

#include <cstdlib>
#include <filesystem>

namespace lepton::engine {

std::string artifact_root(const std::string& storage_url) {
  namespace fs = std::filesystem;
  if (const char* forced = std::getenv("LEPTON_ARTIFACTS"); forced && *forced)
    return fs::absolute(forced).lexically_normal().string();
  const StorageUrl url = parse_storage_url(storage_url, "--storage");
  if (url.backend != StorageUrl::Backend::kSqlite) return fs::absolute("lepton-artifacts").string();
  if (url.location == ":memory:") return "";
  fs::path file = fs::absolute(url.location).lexically_normal();
  return file.replace_extension(".artifacts").string();
}

std::string study_artifact_dir(const std::string& storage_url, const std::string& study) {
  const std::string root = artifact_root(storage_url);
  return root.empty() ? root : (std::filesystem::path(root) / study).string();
}

}  // namespace lepton::engine
