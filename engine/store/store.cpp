// Store selection by URL and the helpers every back end shares.
#include "store/store.hpp"

#include "store/postgres_store.hpp"
#include "store/sqlite_store.hpp"
#include "store/storage_url.hpp"

#include <chrono>
#include <filesystem>

namespace lepton::engine {

double unix_now() {
  return std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
}

TrialView TrialRecord::view() const {
  TrialView v;
  v.number = number;
  v.state = state;
  v.params = params;
  v.values = values;
  v.intermediate = intermediate;
  return v;
}

bool is_infrastructure_failure(const TrialRecord& trial) {
  if (trial.state != TrialState::kFail) return false;
  return trial.error == kInterruptedReason || trial.error.rfind(kStaleReason, 0) == 0;
}

std::unique_ptr<Store> open_store(const std::string& url, OpenMode mode) {
  const StorageUrl parsed = parse_storage_url(url, "--storage");
  if (mode != OpenMode::kCreate && parsed.backend == StorageUrl::Backend::kSqlite &&
      parsed.location != ":memory:" && !std::filesystem::exists(parsed.location))
    throw ConfigError("--storage", "no study store at " + std::filesystem::absolute(parsed.location).string() +
                                       "; run a study first (`lepton run EXPERIMENT`) or check the path");
  switch (parsed.backend) {
    case StorageUrl::Backend::kSqlite: return open_sqlite_store(parsed.location, url, mode != OpenMode::kInspect);
    case StorageUrl::Backend::kPostgres: return open_postgres_store(parsed.location);
  }
  throw StoreError("unsupported storage " + url);
}

}  // namespace lepton::engine
